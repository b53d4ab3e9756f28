/* yaml.h — a small, strict YAML subset, parsed into a jansson tree. Enough for every
 * kubeconfig that kubectl, kind, minikube and the cloud CLIs write; anything outside the
 * subset is refused with the line it is on, never guessed at.
 *
 * Supported:
 *   - block mappings and block sequences by indentation (spaces only), including "- " items
 *     that hold mappings ("- name: a\n  user: {}") and sequences written at the same
 *     indentation as their key ("users:\n- name: a");
 *   - plain, 'single-quoted' ('' is a quote) and "double-quoted" scalars (all YAML escapes:
 *     \0 \a \b \t \n \v \f \r \e \" \/ \\ \N \_ \L \P \xXX \uXXXX \UXXXXXXXX, surrogate
 *     pairs); quoted scalars may span lines (folded as YAML folds them);
 *   - literal (|) and folded (>) block scalars with the chomping indicators - and +;
 *   - comments, a leading "---", a trailing "...", a UTF-8 byte order mark, CRLF line ends;
 *   - flow collections {...} and [...] in value position, and a whole document in flow style,
 *     so a JSON kubeconfig parses too;
 *   - empty values ("key:" with nothing under it) become null.
 * Scalar types: a quoted scalar is always a string; a plain scalar is a boolean when it is
 * true/True/TRUE/false/False/FALSE, null when it is null/Null/NULL/~ (or empty), an integer
 * when it is a decimal integer without leading zeros that fits in json_int_t, and a string
 * otherwise ("1.5", "0755" and "1e3" stay strings).
 *
 * Refused (with "line N: ..."): anchors (&), aliases (*), tags (!), directives (%), complex
 * keys (?), multiple documents, tabs in indentation, duplicate keys, non-scalar keys,
 * multi-line plain scalars, ": " inside a plain value, invalid UTF-8 and NUL bytes, input over
 * YAML_MAX_INPUT bytes and nesting deeper than YAML_MAX_DEPTH collections. The parser recurses
 * once per open collection, so its stack use is bounded by YAML_MAX_DEPTH. */
#ifndef GUNGNIR_YAML_H
#define GUNGNIR_YAML_H

#include <jansson.h>
#include <stddef.h>

#define YAML_MAX_INPUT (1024 * 1024) /* bytes */
#define YAML_MAX_DEPTH 32            /* nested collections */

/* Parses len bytes of text (need not be NUL-terminated) as one YAML document. Returns a new
 * reference (an empty document gives json_null()), or NULL with "line N: reason" in err.
 * err may be NULL. */
json_t *yaml_parse(const char *text, size_t len, char *err, size_t errlen);

/* As yaml_parse, but errors read "name:N: reason" (name is usually the file's path; NULL gives
 * yaml_parse's format). */
json_t *yaml_parse_named(const char *text, size_t len, const char *name, char *err,
                         size_t errlen);

#endif
