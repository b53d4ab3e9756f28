/* fake_api.c — see fake_api.h. */
#include "fake_api.h"

#include <stdio.h>
#include <string.h>

static bool matches(const char *want_method, const char *prefix, const char *method, const char *path)
{
    return (strcmp(want_method, "*") == 0 || strcmp(want_method, method) == 0) &&
           strncmp(path, prefix, strlen(prefix)) == 0;
}

static long fake_call(void *ctx, const char *method, const char *path, const char *content_type, const json_t *body,
                      json_t **out)
{
    struct fake_api *f = ctx;
    if (out)
        *out = NULL;
    if (f->ncalls < FAKE_API_CALLS_MAX) {
        struct fake_call *c = &f->calls[f->ncalls++];
        snprintf(c->method, sizeof(c->method), "%s", method);
        snprintf(c->path, sizeof(c->path), "%s", path);
        snprintf(c->content_type, sizeof(c->content_type), "%s", content_type ? content_type : "");
        c->body = body ? json_deep_copy(body) : NULL;
    } else {
        f->overflow = true;
    }
    for (size_t i = 0; i < f->nrules; i++) {
        struct fake_rule *r = &f->rules[i];
        if (!matches(r->method, r->path_prefix, method, path) || (r->times > 0 && r->used >= r->times))
            continue;
        r->used++;
        snprintf(f->err, sizeof(f->err), "%s %s: canned answer %ld", method, path, r->code);
        if (out && r->body)
            *out = json_incref(r->body);
        return r->code;
    }
    if (strcmp(method, "GET") == 0) {
        snprintf(f->err, sizeof(f->err), "%s %s: not found (NotFound, 404)", method, path);
        return 404;
    }
    f->err[0] = '\0';
    return 200;
}

static const char *fake_errstr(void *ctx) { return ((struct fake_api *)ctx)->err; }

void fake_api_init(struct fake_api *f)
{
    memset(f, 0, sizeof(*f));
    f->api = (struct kube_api){.call = fake_call, .errstr = fake_errstr, .ctx = f};
}

void fake_api_clear_calls(struct fake_api *f)
{
    for (size_t i = 0; i < f->ncalls; i++)
        json_decref(f->calls[i].body);
    f->ncalls = 0;
    f->overflow = false;
}

void fake_api_free(struct fake_api *f)
{
    fake_api_clear_calls(f);
    for (size_t i = 0; i < f->nrules; i++)
        json_decref(f->rules[i].body);
    f->nrules = 0;
}

void fake_api_answer(struct fake_api *f, const char *method, const char *path_prefix, long code, json_t *body,
                     int times)
{
    if (f->nrules >= FAKE_API_RULES_MAX) {
        json_decref(body);
        f->overflow = true;
        return;
    }
    struct fake_rule *r = &f->rules[f->nrules++];
    snprintf(r->method, sizeof(r->method), "%s", method);
    snprintf(r->path_prefix, sizeof(r->path_prefix), "%s", path_prefix);
    r->code = code;
    r->body = body;
    r->times = times;
    r->used = 0;
}

const struct fake_call *fake_api_find(const struct fake_api *f, const char *method, const char *path_prefix, size_t nth)
{
    for (size_t i = 0; i < f->ncalls; i++)
        if (matches(method, path_prefix, f->calls[i].method, f->calls[i].path) && nth-- == 0)
            return &f->calls[i];
    return NULL;
}

size_t fake_api_count(const struct fake_api *f, const char *method, const char *path_prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < f->ncalls; i++)
        n += matches(method, path_prefix, f->calls[i].method, f->calls[i].path);
    return n;
}

size_t fake_api_writes(const struct fake_api *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->ncalls; i++)
        n += strcmp(f->calls[i].method, "GET") != 0;
    return n;
}
