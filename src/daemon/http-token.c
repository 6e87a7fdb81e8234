/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "daemon/http-token.h"
#include "daemon/log.h"

#define CHALLENGE "Bearer realm=\"iommud\""
#define CHALLENGE_INVALID "Bearer realm=\"iommud\", error=\"invalid_token\""

void http_token_clear(http_token *t) {
        if (t->value) {
                explicit_bzero(t->value, t->len);
                t->value = mfree(t->value);
        }
        t->len = 0;
}

/* The file's one word, trimmed; the file root's (or ours), regular, not
 * empty, and without access for group and others. */
static int token_load(const char *path, char **ret, size_t *ret_len, iommu_error *err) {
        _cleanup_close_ int fd = -EBADF;
        char buf[HTTP_TOKEN_MAX + 1];
        size_t n = 0, start, end;
        struct stat st;
        ssize_t k;
        int r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open TokenFile=%s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat TokenFile=%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return iommu_error_set(err, EINVAL, "TokenFile=%s is not a regular file", path);
        if (st.st_mode & 0077)
                return iommu_error_set(err, EPERM,
                                       "TokenFile=%s has mode %04o: group and others must have no access "
                                       "(chmod 0600)",
                                       path, (unsigned) (st.st_mode & 07777));
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return iommu_error_set(err, EPERM, "TokenFile=%s belongs to user %u, not to root", path,
                                       (unsigned) st.st_uid);
        while (n < sizeof buf && (k = read(fd, buf + n, sizeof buf - n)) != 0) {
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = iommu_error_set(err, errno, "Failed to read TokenFile=%s: %s", path,
                                            strerror(errno));
                        break;
                }
                n += (size_t) k;
        }
        if (r >= 0 && n > HTTP_TOKEN_MAX)
                r = iommu_error_set(err, EFBIG, "TokenFile=%s is larger than %u bytes", path,
                                    HTTP_TOKEN_MAX);
        for (start = 0; r >= 0 && start < n && strchr(" \t\r\n", buf[start]); start++)
                ;
        for (end = n; r >= 0 && end > start && strchr(" \t\r\n", buf[end - 1]); end--)
                ;
        if (r >= 0 && end == start)
                r = iommu_error_set(err, EINVAL, "TokenFile=%s is empty", path);
        for (size_t i = start; r >= 0 && i < end; i++)
                if (buf[i] <= ' ' || buf[i] >= 0x7f)
                        r = iommu_error_set(err, EINVAL,
                                            "TokenFile=%s must hold one word of printable ASCII", path);
        if (r >= 0) {
                *ret = strndup(buf + start, end - start);
                *ret_len = end - start;
                if (!*ret)
                        r = iommu_error_set(err, ENOMEM, "Out of memory");
        }
        explicit_bzero(buf, sizeof buf);
        return r;
}

void http_token_setup(http_token *t, const daemon_conf *conf) {
        iommu_error err = {};
        char *token = NULL;
        size_t len = 0;

        if (!conf->http_allow_changes)
                ;
        else if (!conf->http_token_file)
                log_error("AllowChanges=yes needs TokenFile=: changes over HTTP stay disabled");
        else if (token_load(conf->http_token_file, &token, &len, &err) < 0)
                log_error("AllowChanges=yes, but changes over HTTP stay disabled: %s", err.message);
        else
                log_info("Changes over HTTP are enabled, with the bearer token of %s",
                         conf->http_token_file);
        http_token_clear(t);
        t->value = token;
        t->len = len;
}

static bool token_matches(const http_token *t, const char *s, size_t n) {
        volatile unsigned char d = n != t->len;

        for (size_t i = 0; i < t->len; i++)
                d |= (unsigned char) t->value[i] ^ (unsigned char) (i < n ? s[i] : 0);
        return d == 0;
}

const char *http_token_challenge(const http_token *t, const char *v) {
        size_t n;

        if (!v || strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
                return CHALLENGE;
        v += 6;
        v += strspn(v, " \t");
        n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
        if (!t->value || !token_matches(t, v, n))
                return CHALLENGE_INVALID;
        return NULL;
}
