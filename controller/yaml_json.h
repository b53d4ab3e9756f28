/* yaml_json.h — one YAML document (libyaml's parser) as a jansson tree, for the kubeconfig
 * loader. JSON is YAML, so a JSON document loads too.
 *
 * Everything libyaml parses is accepted: block and flow style, every quoting style, literal
 * (|) and folded (>) block scalars, comments, "---" and "...", %YAML/%TAG directives, a byte
 * order mark, UTF-8 or UTF-16 input. On top of the parser:
 *   - anchors (&a) and aliases (*a): an alias stands for the node its anchor names (the last
 *     one defined before it; the same json_t is shared, not copied), and the merge key
 *     "<<: *a" (or "<<: [*a, *b]") brings in the keys of the named mappings that the mapping
 *     does not set itself (earlier mappings of a list win), as kubectl's YAML reader does;
 *   - scalars: a quoted or block scalar, or one tagged !!str or !, is a string; an untagged
 *     plain scalar is a boolean when it is true/True/TRUE/false/False/FALSE, null when it is
 *     null/Null/NULL/~ or empty, an integer when it is a decimal integer without leading zeros
 *     or '+' that fits in json_int_t, and a string otherwise ("1.5", "0755", "yes" and "1e3"
 *     stay strings). Mapping keys are always strings (their text).
 * Refused, with the line: syntax errors (libyaml's message; this includes a \u escape of a
 * UTF-16 surrogate, which JSON uses for characters beyond U+FFFF and YAML does not: write
 * them as they are or as \UXXXXXXXX), a second document, aliases to an
 * anchor not yet defined (or to a collection from inside itself), keys that are not scalars
 * or hold a NUL, duplicate keys, tags other than !!str, !!map, !!seq and !, a merge key whose
 * value is not a mapping or a list of mappings, input over YAML_JSON_MAX_INPUT bytes, nesting
 * deeper than YAML_JSON_MAX_DEPTH collections, and a document that, with every alias counted
 * as a copy of what it names, holds more than YAML_JSON_MAX_NODES nodes ("billion laughs").
 * No recursion: stack use does not depend on the input. */
#ifndef GUNGNIR_YAML_JSON_H
#define GUNGNIR_YAML_JSON_H

#include <jansson.h>
#include <stddef.h>

#define YAML_JSON_MAX_INPUT (1024 * 1024) /* bytes */
#define YAML_JSON_MAX_DEPTH 64            /* nested collections */
/* Nodes of the document with every alias expanded. A document without aliases within
 * YAML_JSON_MAX_INPUT never comes near it (a node takes at least two bytes), so only aliases
 * can reach it. */
#define YAML_JSON_MAX_NODES (1024 * 1024)

/* Parses len bytes of text (need not be NUL-terminated) as one YAML document. Returns a new
 * reference (an empty document gives json_null()), or NULL with err set to "NAME:LINE: reason"
 * (name is usually the file's path), or to "line LINE: reason" when name is NULL ("NAME: ..."
 * or plain "reason" for the rare error without a line, such as running out of memory). err
 * may be NULL. */
json_t *yaml_json_load(const char *text, size_t len, const char *name, char *err,
                       size_t errlen);

#endif
