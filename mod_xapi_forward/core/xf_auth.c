/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_auth.c - finds a request's credential in xapi's order (cookie, query,
 * pool_secret, Basic), compares secrets in constant time, derives the keyed
 * cache id and seals cached decisions (an HMAC over id, decision and
 * expiry), and reads secret files (the pool secret, the key of the cache
 * ids). Pure core: no httpd headers, no logging.
 */
#include "xf_auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "xf_parse.h"

#define SESSION_KEY "session_id"
#define POOL_SECRET_KEY "pool_secret"

/* ---- HMAC-SHA256 -------------------------------------------------------- */

/* SHA-256, fetched once per process: OpenSSL 3's one-shot HMAC() fetches
 * the MAC and the digest again at every call, which cost a cache hit of
 * the access checker far more than the hash itself. */
static const EVP_MD *sha256(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static EVP_MD *md;
    EVP_MD *m = __atomic_load_n(&md, __ATOMIC_ACQUIRE), *none = NULL;

    if (m)
        return m;
    if (!(m = EVP_MD_fetch(NULL, "SHA256", NULL)))
        return NULL;
    if (!__atomic_compare_exchange_n(&md, &none, m, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        EVP_MD_free(m); /* another thread was first */
        m = none;
    }
    return m;
#else
    return EVP_sha256();
#endif
}

/* HMAC-SHA256 (RFC 2104) of msg under a key of XF_AUTH_KEY_BYTES into
 * out[32]: H(K ^ opad || H(K ^ ipad || msg)). 0 on failure. */
static int hmac_sha256(unsigned char out[32], const unsigned char *key,
                       const unsigned char *msg, size_t len)
{
    unsigned char ipad[64], opad[64], inner[32];
    const EVP_MD *md = sha256();
    EVP_MD_CTX *ctx;
    unsigned int n = 0;
    int ok, i;

    if (!md || !(ctx = EVP_MD_CTX_new()))
        return 0;
    memset(ipad, 0x36, sizeof(ipad));
    memset(opad, 0x5c, sizeof(opad));
    for (i = 0; i < XF_AUTH_KEY_BYTES; i++) {
        ipad[i] ^= key[i];
        opad[i] ^= key[i];
    }
    ok = EVP_DigestInit_ex(ctx, md, NULL) &&
         EVP_DigestUpdate(ctx, ipad, sizeof(ipad)) &&
         EVP_DigestUpdate(ctx, msg, len) &&
         EVP_DigestFinal_ex(ctx, inner, &n) && n == 32 &&
         EVP_DigestInit_ex(ctx, md, NULL) &&
         EVP_DigestUpdate(ctx, opad, sizeof(opad)) &&
         EVP_DigestUpdate(ctx, inner, sizeof(inner)) &&
         EVP_DigestFinal_ex(ctx, out, &n) && n == 32;
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(ipad, sizeof(ipad)); /* they held the key */
    OPENSSL_cleanse(opad, sizeof(opad));
    return ok;
}

/* ---- decoding helpers -------------------------------------------------- */

/* Percent-decode s[0..n) into a pool string (xf_parse_pct_decode: as
 * ocaml-uri does; '+' becomes a space when plus_space). NULL when the
 * result would hold a NUL: such a value is never a credential, since the C
 * string would differ from what the client sent. */
static char *pct_decode(const char *s, apr_size_t n, int plus_space,
                        apr_pool_t *p)
{
    char *out = apr_palloc(p, n + 1);
    apr_size_t o = xf_parse_pct_decode(out, s, n, plus_space);

    if (memchr(out, '\0', o))
        return NULL;
    out[o] = '\0';
    return out;
}

static int is_ows(int c)
{
    return c == ' ' || c == '\t';
}

/* ---- cookies and query ------------------------------------------------- */

/* The first non-empty value of cookie `name`. Pairs are split on ';' and
 * ',' (xapi splits on '&' when there is no ';', so that too), trimmed, cut
 * at the first '='; key and value are percent-decoded as xapi does. One
 * pair of double quotes around a value (RFC 6265 allows them) is removed.
 * "$Version"-style attributes never match a name. */
static const char *cookie_find(const char *cookie, const char *name,
                               apr_pool_t *p)
{
    int amp = strchr(cookie, ';') == NULL;
    const char *s = cookie;

    while (*s) {
        const char *end = s, *eq, *ke, *vs, *ve;
        char *key, *val;

        while (*end && *end != ';' && *end != ',' && !(amp && *end == '&'))
            end++;
        while (s < end && is_ows(*s))
            s++;
        eq = memchr(s, '=', (apr_size_t)(end - s));
        if (eq) {
            ke = eq;
            while (ke > s && is_ows(ke[-1]))
                ke--;
            vs = eq + 1;
            ve = end;
            while (vs < ve && is_ows(*vs))
                vs++;
            while (ve > vs && is_ows(ve[-1]))
                ve--;
            if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
                vs++;
                ve--;
            }
            key = pct_decode(s, (apr_size_t)(ke - s), 0, p);
            if (key && strcmp(key, name) == 0 && ve > vs) {
                val = pct_decode(vs, (apr_size_t)(ve - vs), 0, p);
                if (val && *val)
                    return val;
            }
        }
        s = *end ? end + 1 : end;
    }
    return NULL;
}

/* The first non-empty value of query parameter `name` ('&'-separated,
 * first '=', '+' is a space, percent-decoded). */
static const char *query_find(const char *args, const char *name, apr_pool_t *p)
{
    const char *s = args;

    while (*s) {
        const char *end = strchr(s, '&'), *eq;
        char *key, *val;

        if (!end)
            end = s + strlen(s);
        eq = memchr(s, '=', (apr_size_t)(end - s));
        if (eq && end > eq + 1) {
            key = pct_decode(s, (apr_size_t)(eq - s), 1, p);
            if (key && strcmp(key, name) == 0) {
                val = pct_decode(eq + 1, (apr_size_t)(end - eq - 1), 1, p);
                if (val && *val)
                    return val;
            }
        }
        s = *end ? end + 1 : end;
    }
    return NULL;
}

/* ---- Authorization: Basic ---------------------------------------------- */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict base64 (RFC 4648 alphabet, padded, no spaces inside) into a pool
 * string; NULL when malformed or when it decodes to a NUL byte. */
static char *b64_decode(const char *s, apr_size_t n, apr_pool_t *p)
{
    char *out;
    apr_size_t i, o = 0, pad = 0;

    if (n == 0 || n % 4 != 0)
        return NULL;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    out = apr_palloc(p, n / 4 * 3 + 1);
    for (i = 0; i < n; i += 4) {
        int v[4], k;
        unsigned long w;

        for (k = 0; k < 4; k++) {
            if (i + k >= n - pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64val((unsigned char)s[i + k]);
            if (v[k] < 0)
                return NULL;
        }
        w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
            ((unsigned long)v[2] << 6) | (unsigned long)v[3];
        out[o++] = (char)((w >> 16) & 0xff);
        if (i + 4 < n || pad < 2)
            out[o++] = (char)((w >> 8) & 0xff);
        if (i + 4 < n || pad < 1)
            out[o++] = (char)(w & 0xff);
        /* unused bits of the last quantum must be zero (canonical form) */
        if (i + 4 >= n &&
            ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0)))
            return NULL;
    }
    if (memchr(out, '\0', o))
        return NULL;
    out[o] = '\0';
    return out;
}

/* "Basic <base64 of user:pass>": 1 and cred filled, or 0. */
static int basic_find(xf_cred_t *cred, const char *authz, apr_pool_t *p)
{
    const char *s = authz, *e;
    char *dec, *colon;

    while (is_ows(*s))
        s++;
    if (strncasecmp(s, "Basic", 5) != 0 || !is_ows(s[5]))
        return 0;
    s += 5;
    while (is_ows(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_ows(e[-1]))
        e--;
    dec = b64_decode(s, (apr_size_t)(e - s), p);
    if (!dec || !(colon = strchr(dec, ':')) || colon == dec)
        return 0;
    *colon = '\0';
    cred->kind = XF_CRED_BASIC;
    cred->user = dec;
    cred->pass = colon + 1;
    cred->source = "authorization";
    return 1;
}

const char *xf_auth_param_find(const char *cookie, const char *args,
                               const char *name, apr_pool_t *p)
{
    const char *v = cookie ? cookie_find(cookie, name, p) : NULL;

    return v ? v : args ? query_find(args, name, p) : NULL;
}

void xf_auth_find(xf_cred_t *cred, const char *cookie, const char *args,
                  const char *authz, apr_pool_t *p)
{
    static const struct {
        const char *name;
        xf_cred_kind_e kind;
        int in_query;
    } order[] = {
        {SESSION_KEY, XF_CRED_SESSION, 0},
        {SESSION_KEY, XF_CRED_SESSION, 1},
        {POOL_SECRET_KEY, XF_CRED_POOL_SECRET, 0},
        {POOL_SECRET_KEY, XF_CRED_POOL_SECRET, 1},
    };
    apr_size_t i;

    memset(cred, 0, sizeof(*cred));
    cred->kind = XF_CRED_NONE;
    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *v = NULL;

        if (order[i].in_query && args)
            v = query_find(args, order[i].name, p);
        else if (!order[i].in_query && cookie)
            v = cookie_find(cookie, order[i].name, p);
        if (v) {
            cred->kind = order[i].kind;
            cred->value = v;
            cred->source = order[i].in_query ? "query" : "cookie";
            return;
        }
    }
    if (authz)
        basic_find(cred, authz, p);
}

/* ---- compare, cache id, decisions -------------------------------------- */

int xf_auth_ct_equal(const void *a, apr_size_t alen, const void *b,
                     apr_size_t blen)
{
    if (alen != blen) {
        /* same work as a real compare of a's length, result thrown away */
        (void)CRYPTO_memcmp(a, a, alen);
        return 0;
    }
    return CRYPTO_memcmp(a, b, alen) == 0;
}

void xf_auth_cache_id(char out[XF_AUTH_CACHE_ID_LEN + 1],
                      const unsigned char *secret, const xf_cred_t *cred,
                      const char *perms)
{
    static const char hex[] = "0123456789abcdef";
    const char *a = "", *b = NULL;
    unsigned char md[32], *msg;
    size_t alen, blen, plen, len, i;

    out[0] = '\0';
    if (cred->kind == XF_CRED_BASIC) {
        /* user ':' pass; a user name never holds ':' (cut at the first) */
        a = cred->user ? cred->user : "";
        b = cred->pass ? cred->pass : "";
    }
    else if (cred->value) {
        a = cred->value;
    }
    alen = strlen(a);
    blen = b ? strlen(b) + 1 : 0;
    plen = perms ? strlen(perms) : 0;
    /* kind || credential || '\0' || perms: credentials never hold a NUL,
     * so the '\0' separates them from perms. */
    len = 1 + alen + blen + 1 + plen;
    if (!(msg = malloc(len)))
        return;
    msg[0] = (unsigned char)cred->kind;
    memcpy(msg + 1, a, alen);
    if (b) {
        msg[1 + alen] = ':';
        memcpy(msg + 2 + alen, b, blen - 1);
    }
    msg[1 + alen + blen] = '\0';
    if (plen)
        memcpy(msg + 2 + alen + blen, perms, plen);
    if (hmac_sha256(md, secret, msg, len) &&
        sizeof(md) * 2 == XF_AUTH_CACHE_ID_LEN) {
        for (i = 0; i < sizeof(md); i++) {
            out[2 * i] = hex[md[i] >> 4];
            out[2 * i + 1] = hex[md[i] & 0x0f];
        }
        out[XF_AUTH_CACHE_ID_LEN] = '\0';
    }
    OPENSSL_cleanse(msg, len); /* it held the credential */
    free(msg);
}

/* ---- secrets from files ------------------------------------------------ */

apr_status_t xf_auth_read_secret(xf_secret_t *sec, const char *path,
                                 apr_pool_t *p)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;
    apr_status_t st;

    st = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);
    if (st != APR_SUCCESS)
        return st;
    st = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (st == APR_SUCCESS && (fi.size <= 0 || fi.size > XF_AUTH_SECRET_MAX))
        st = APR_EINVAL;
    if (st == APR_SUCCESS) {
        n = (apr_size_t)fi.size;
        buf = apr_palloc(p, n + 1);
        st = apr_file_read_full(f, buf, n, &n);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        sec->data = buf;
        sec->len = n;
        if (st == APR_SUCCESS && n == 0)
            st = APR_EINVAL;
    }
    apr_file_close(f);
    return st;
}

apr_status_t xf_auth_derive_key(unsigned char key[XF_AUTH_KEY_BYTES],
                                const char *secret)
{
    xf_cred_t kc = {XF_CRED_POOL_SECRET, NULL, NULL, NULL, "key"};
    static const unsigned char zero[XF_AUTH_KEY_BYTES] = {0};
    char hex[XF_AUTH_CACHE_ID_LEN + 1];
    int i;

    kc.value = secret;
    xf_auth_cache_id(hex, zero, &kc, "");
    if (strlen(hex) != 2 * XF_AUTH_KEY_BYTES)
        return APR_ENOMEM;
    for (i = 0; i < XF_AUTH_KEY_BYTES; i++)
        key[i] = (unsigned char)(xf_parse_hex_value(hex[2 * i]) << 4 |
                                 xf_parse_hex_value(hex[2 * i + 1]));
    OPENSSL_cleanse(hex, sizeof(hex)); /* it was the key */
    return APR_SUCCESS;
}

apr_status_t xf_auth_key_file(unsigned char key[XF_AUTH_KEY_BYTES],
                              const char *path, apr_size_t min_len,
                              apr_pool_t *p)
{
    xf_secret_t k;
    apr_status_t st = xf_auth_read_secret(&k, path, p);

    if (st != APR_SUCCESS)
        return st;
    if (k.len < min_len)
        st = APR_EINVAL;
    else
        st = xf_auth_derive_key(key, k.data);
    OPENSSL_cleanse((void *)k.data, k.len);
    return st;
}

/* ---- cached decisions ---------------------------------------------------- */

#define DECISION_PREFIX "xf2:"
#define DECISION_PREFIX_LEN (sizeof(DECISION_PREFIX) - 1)
#define DECISION_EXP_AT (DECISION_PREFIX_LEN + 2)  /* after "xf2:A:" */
#define DECISION_MAC_AT (DECISION_EXP_AT + 16 + 1) /* after the expiry */
#define DECISION_MAC_DOMAIN "xf-decision-2"

static const struct {
    xf_decision_e d;
    char c;
} decision_codes[] = {
    {XF_DECISION_ALLOW, 'A'},
    {XF_DECISION_DENY, 'D'},
    {XF_DECISION_INVALID, 'I'},
};

static char decision_char(xf_decision_e d)
{
    apr_size_t i;

    for (i = 0; i < sizeof(decision_codes) / sizeof(decision_codes[0]); i++)
        if (decision_codes[i].d == d)
            return decision_codes[i].c;
    return 0;
}

static const char hexdigits[] = "0123456789abcdef";

/* hex(HMAC(key, domain '\0' id '\0' c exp16)) into out[64]; 0 on failure */
static int decision_mac(char *out, const unsigned char *key, const char *id,
                        char c, const char *exp16)
{
    unsigned char md[32], *msg;
    size_t dlen = sizeof(DECISION_MAC_DOMAIN), ilen = strlen(id);
    size_t len = dlen + ilen + 1 + 1 + 16, i;
    int ok;

    if (!(msg = malloc(len)))
        return 0;
    memcpy(msg, DECISION_MAC_DOMAIN, dlen); /* with its '\0' */
    memcpy(msg + dlen, id, ilen);
    msg[dlen + ilen] = '\0';
    msg[dlen + ilen + 1] = (unsigned char)c;
    memcpy(msg + dlen + ilen + 2, exp16, 16);
    ok = hmac_sha256(md, key, msg, len);
    free(msg);
    for (i = 0; ok && i < sizeof(md); i++) {
        out[2 * i] = hexdigits[md[i] >> 4];
        out[2 * i + 1] = hexdigits[md[i] & 0x0f];
    }
    return ok;
}

void xf_auth_decision_seal(unsigned char **pbuf, const unsigned char *key,
                           const char *id, xf_decision_e d, apr_time_t expiry,
                           apr_pool_t *p)
{
    char *v = apr_palloc(p, XF_AUTH_DECISION_LEN + 1);
    apr_uint64_t e = expiry > 0 ? (apr_uint64_t)expiry : 0;
    char c = decision_char(d);
    int i;

    *pbuf = NULL;
    if (!c)
        return;
    memcpy(v, DECISION_PREFIX, DECISION_PREFIX_LEN);
    v[DECISION_PREFIX_LEN] = c;
    v[DECISION_PREFIX_LEN + 1] = ':';
    for (i = 15; i >= 0; i--, e >>= 4)
        v[DECISION_EXP_AT + i] = hexdigits[e & 0x0f];
    v[DECISION_MAC_AT - 1] = ':';
    if (!decision_mac(v + DECISION_MAC_AT, key, id, c, v + DECISION_EXP_AT))
        return;
    v[XF_AUTH_DECISION_LEN] = '\0';
    *pbuf = (unsigned char *)v;
}

xf_decision_e xf_auth_decision_open(const unsigned char *buf, apr_size_t len,
                                    const unsigned char *key, const char *id,
                                    apr_time_t now)
{
    const char *v = (const char *)buf;
    char mac[64];
    apr_uint64_t e = 0;
    apr_size_t i, k;
    char c;

    if (!buf || len != XF_AUTH_DECISION_LEN ||
        memcmp(v, DECISION_PREFIX, DECISION_PREFIX_LEN) != 0 ||
        v[DECISION_PREFIX_LEN + 1] != ':' || v[DECISION_MAC_AT - 1] != ':')
        return 0;
    c = v[DECISION_PREFIX_LEN];
    for (k = 0; k < sizeof(decision_codes) / sizeof(decision_codes[0]); k++)
        if (decision_codes[k].c == c)
            break;
    if (k == sizeof(decision_codes) / sizeof(decision_codes[0]))
        return 0;
    for (i = 0; i < 16; i++) {
        const char *h = memchr(hexdigits, v[DECISION_EXP_AT + i], 16);
        if (!h || !v[DECISION_EXP_AT + i])
            return 0;
        e = (e << 4) | (apr_uint64_t)(h - hexdigits);
    }
    if (!decision_mac(mac, key, id, c, v + DECISION_EXP_AT) ||
        !xf_auth_ct_equal(mac, sizeof(mac), v + DECISION_MAC_AT, sizeof(mac)))
        return 0;
    /* checked after the MAC: an authentic value is still only good until
     * the expiry it was sealed with, whatever the cache server keeps */
    if (now < 0 || e <= (apr_uint64_t)now)
        return 0;
    return decision_codes[k].d;
}

int xf_auth_has_perms(const char *const *required, const char *const *held,
                      const char **pmissing)
{
    apr_size_t i, j;

    if (pmissing)
        *pmissing = NULL;
    for (i = 0; required && required[i]; i++) {
        int found = 0;

        for (j = 0; held && held[j] && !found; j++)
            found = strcasecmp(required[i], held[j]) == 0;
        if (!found) {
            if (pmissing)
                *pmissing = required[i];
            return 0;
        }
    }
    return 1;
}
