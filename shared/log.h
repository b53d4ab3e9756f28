/* log.h — structured logs: one JSON object a line on stderr.
 *
 *   log_write(LOG_INFO, "webhook serving", "address", "0.0.0.0:9443", NULL);
 *   -> {"ts":"2026-11-24T16:20:00.123Z","level":"info","msg":"webhook serving","address":"0.0.0.0:9443"}
 *
 * Key/value arguments are C strings, terminated by NULL; values are JSON-escaped. Thread-safe:
 * each line is written with one write(2). Lines longer than 4 KiB are cut. */
#ifndef GUNGNIR_LOG_H
#define GUNGNIR_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the lowest level written (default LOG_INFO). */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn" or "error". Returns 0 and sets *level, or -1. */
int log_level_parse(const char *name, enum log_level *level);

/* Writes one line if level is enabled. The variadic part is key, value, ..., NULL. */
void log_write(enum log_level level, const char *msg, ...);

#endif
