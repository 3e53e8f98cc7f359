/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * hello.c - an example custom service written with libxfrecv: answers with
 * what it received. The channel way (XapiForwardPluginWay channel).
 *
 *     xfr-hello /var/lib/xcp/plugin/hello
 */
#define _GNU_SOURCE /* accept4 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xapi_forward_receiver.h"

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/var/lib/xcp/plugin/hello";
    int l = xfr_listen(path, 64);

    if (l < 0) {
        perror(path);
        return 1;
    }
    for (;;) {
        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC), err;
        xfr_request *req;
        char out[4096];
        const char *name;

        if (c < 0)
            continue;
        err = xfr_receive(&req, c, 0);
        if (err == XFR_OK) {
            name = xfr_query(req, "name");
            snprintf(out, sizeof(out),
                     "hello %s\nway: channel\nmethod: %s\n"
                     "path: %s\n",
                     name ? name : "world", req->method, req->path);
            xfr_respond(req->fd, 200, "text/plain", out, strlen(out));
            xfr_request_free(req);
        }
        else
            fprintf(stderr, "xfr-hello: %s\n", xfr_strerror(err));
        close(c);
    }
}
