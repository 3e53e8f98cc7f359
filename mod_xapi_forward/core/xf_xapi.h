/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_xapi.h - a small client for XAPI's JSON-RPC (POST /jsonrpc) over
 * xapi's local unix socket or HTTPS, with libcurl and json-c: session
 * validation, login/logout, superuser flag and RBAC permissions. Pure core:
 * no httpd headers, no logging; every call is bounded by a timeout.
 */
#ifndef XF_XAPI_H
#define XF_XAPI_H

#include <apr_errno.h>
#include <apr_pools.h>

/** Where XAPI is. */
typedef struct xf_xapi_endpoint_t {
    const char *url;     /* "unix:/var/lib/xcp/xapi" (HTTP over xapi's
                          * local socket) or "https://host[:port]" */
    const char *ca_file; /* PEM CA bundle for https; NULL = system CAs */
    int verify;          /* 1: verify the server certificate and name */
    long timeout_ms;     /* whole call, connect included; <= 0: 10 s */
} xf_xapi_endpoint_t;

/** Outcome of one call. */
typedef enum {
    XF_XAPI_OK = 0,
    XF_XAPI_SESSION_INVALID = 1, /* error SESSION_INVALID */
    XF_XAPI_HOST_IS_SLAVE = 2,   /* error HOST_IS_SLAVE; master set */
    XF_XAPI_AUTH_FAILED = 3,     /* SESSION_AUTHENTICATION_FAILED */
    XF_XAPI_API_ERROR = 4,       /* any other XAPI error (name set) */
    XF_XAPI_UNREACHABLE = 5,     /* connect/TLS/HTTP failure */
    XF_XAPI_TIMEOUT = 6,         /* timeout_ms elapsed */
    XF_XAPI_GARBAGE = 7          /* not a JSON-RPC answer */
} xf_xapi_code_e;

typedef struct xf_xapi_reply_t {
    xf_xapi_code_e code;
    const char *error;  /* XAPI error name (e.g. "SESSION_INVALID"), or a
                         * transport description; never holds
                         * credentials */
    const char *master; /* HOST_IS_SLAVE: the master's address */
    const char *str;    /* OK with a string result: the string */
    int boolean;        /* OK with a boolean result: 0/1 */
    const char **list;  /* OK with a list-of-strings result:
                         * NULL-terminated */
    int http_status;    /* HTTP status of the answer, 0 if none */
} xf_xapi_reply_t;

/** One parameter of a call (xf_xapi_call_ex). */
typedef enum {
    XF_XAPI_STRING = 0, /* a JSON string (also refs and enums) */
    XF_XAPI_FLOAT = 1,  /* a JSON number */
    XF_XAPI_STRINGS = 2 /* a JSON array of strings ("string set") */
} xf_xapi_param_e;

typedef struct xf_xapi_param_t {
    xf_xapi_param_e type;
    const char *s;           /* XF_XAPI_STRING */
    double f;                /* XF_XAPI_FLOAT */
    const char *const *list; /* XF_XAPI_STRINGS: NULL-terminated */
} xf_xapi_param_t;

/** Call once per process before any other function (curl_global_init). */
apr_status_t xf_xapi_init(void);

/**
 * Call a JSON-RPC method whose params are all strings.
 * {"jsonrpc":"2.0","method":M,"params":[...],"id":1}
 * @param rep    out: the outcome (strings from p)
 * @param ep     the endpoint
 * @param method e.g. "session.get_uuid"
 * @param params NULL-terminated string params
 * @param p      pool
 * @return APR_SUCCESS when rep is filled (whatever rep->code says)
 */
apr_status_t xf_xapi_call(xf_xapi_reply_t *rep, const xf_xapi_endpoint_t *ep,
                          const char *method, const char *const *params,
                          apr_pool_t *p);

/**
 * Interpret the body of an answer as xf_xapi_call() does, without any I/O:
 * what the fuzz target and the replay driver exercise.
 * @param rep         out: the outcome (strings from p)
 * @param body        the answer's body (need not be NUL-terminated)
 * @param len         its length in bytes
 * @param http_status the answer's HTTP status (a result counts only with 200)
 * @param p           pool
 */
void xf_xapi_reply_parse(xf_xapi_reply_t *rep, const char *body, apr_size_t len,
                         int http_status, apr_pool_t *p);

/**
 * Call a JSON-RPC method with typed params (numbers, string sets), e.g.
 * task.set_progress [session, task, 1.0]. Otherwise as xf_xapi_call.
 * @param params nparams params
 */
apr_status_t xf_xapi_call_ex(xf_xapi_reply_t *rep, const xf_xapi_endpoint_t *ep,
                             const char *method, const xf_xapi_param_t *params,
                             int nparams, apr_pool_t *p);

/**
 * The endpoint for a HOST_IS_SLAVE master address: "https://<master>"
 * (an IPv6 literal in brackets) with ep's CA, verify and timeout.
 * @return the endpoint, or NULL when master is not a host name or an IP
 *         address (xf_xapi_call only reports masters that pass)
 */
xf_xapi_endpoint_t *xf_xapi_master_endpoint(const xf_xapi_endpoint_t *ep,
                                            const char *master, apr_pool_t *p);

#endif /* XF_XAPI_H */
