/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * config_defaults.c - prints the default of every directive as the rows of
 * xf_config.h's lists give it, for t/check-config.sh to hold docs/directives.md's
 * directive table and conf.d/xapi_forward.conf against (the first row
 * naming a directive stands for it). One line per row:
 *   DIRECTIVE <TAB> DEFAULT <TAB> HELP
 * DEFAULT as the documentation writes it (On/Off, the word of an ENUM,
 * seconds, the string), "-" when the row has none (the documentation says
 * in words what then happens); HELP "ok" when a SET row's help text names
 * no default or the same one, else what it names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf_config.h"

typedef struct {
    const char *word; /* NULL ends the list */
    int value;
} choice_t;

/* what a row's check gives here: the words of an ENUM */
#define CHOICES(...) ((const choice_t[]){__VA_ARGS__, {NULL, 0}})
#define RANGE(lo, hi, msg) NULL
#define MIN_SIZE(bytes) NULL
#define NONE NULL

static const char *flag(int v)
{
    return v ? "On" : "Off";
}

static const char *word(int v, const choice_t *c)
{
    static char buf[32];

    for (; c && c->word; c++)
        if (c->value == v)
            return c->word;
    snprintf(buf, sizeof(buf), "%d", v);
    return buf;
}

static const char *number(long long v)
{
    static char buf[32];

    if (v == XF_UNSET)
        return "-";
    snprintf(buf, sizeof(buf), "%lld", v);
    return buf;
}

/* seconds when whole, else milliseconds */
static const char *duration(long long usec)
{
    static char buf[32];

    if (usec == XF_UNSET || usec % 1000000 == 0)
        return number(usec == XF_UNSET ? XF_UNSET : usec / 1000000);
    snprintf(buf, sizeof(buf), "%lldms", usec / 1000);
    return buf;
}

static const char *string(const char *s)
{
    return s ? s : "-";
}

/* a time as the help text writes it (1s, 250ms, 1h, 60) in usec; -2 when
 * it is not one */
static long long help_time(const char *t)
{
    char *end;
    long long n = strtoll(t, &end, 10);

    if (end == t)
        return -2;
    if (!*end || !strcmp(end, "s"))
        return n * 1000000;
    if (!strcmp(end, "ms"))
        return n * 1000;
    if (!strcmp(end, "mi"))
        return n * 60000000;
    if (!strcmp(end, "h"))
        return n * 3600000000LL;
    return -2;
}

/* "ok", or the default a SET row's help names when it is not the row's */
static const char *help(const char *doc, const char *shown, int time,
                        long long usec)
{
    static char got[64];
    const char *d = strstr(doc, "(default ");
    size_t n;

    if (!d)
        return "ok";
    d += strlen("(default ");
    n = strcspn(d, ",;)");
    if (n >= sizeof(got))
        n = sizeof(got) - 1;
    memcpy(got, d, n);
    got[n] = '\0';
    if (time ? help_time(got) == usec : !strcmp(got, shown))
        return "ok";
    return got;
}

#define SHOW_FLAG(def, check) flag(def)
#define SHOW_ENUM(def, check) word(def, check)
#define SHOW_STATUS(def, check) number(def)
#define SHOW_NUMBER(def, check) number(def)
#define SHOW_TIME(def, check) duration(def)
#define SHOW_STRING(def, check) string(def)
#define SHOW_PATH(def, check) string(def)
#define SHOW_ARRAY(def, check) "-"
#define SHOW_TABLE(def, check) "-"
#define IS_TIME_TIME 1
#define IS_TIME_FLAG 0
#define IS_TIME_ENUM 0
#define IS_TIME_STATUS 0
#define IS_TIME_NUMBER 0
#define IS_TIME_STRING 0
#define IS_TIME_PATH 0
#define IS_TIME_ARRAY 0
#define IS_TIME_TABLE 0
#define HELP_SET(doc, shown, kind, def)                                        \
    help(doc, shown, IS_TIME_##kind, IS_TIME_##kind ? (long long)(def) : 0)
#define HELP_OWN(doc, shown, kind, def) "ok"

#define ROW(field, kind, type, def, merge, setter, name, check, doc)           \
    {                                                                          \
        const char *shown = SHOW_##kind(def, check);                           \
        printf("%s\t%s\t%s\n", name, shown,                                    \
               HELP_##setter(doc, shown, kind, def));                          \
    }

int main(void)
{
    XF_DIR_FIELDS(ROW)
    XF_SRV_FIELDS(ROW)
    return 0;
}
