/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The main() of every Check suite: run it with the environment's settings
 * (meson sets CK_TAP_LOG_FILE_NAME=- so results are TAP on stdout) and fail
 * when any test failed.  A suite file defines make_suite() and includes this.
 */

#include <check.h>
#include <stdlib.h>

static Suite *make_suite(void);

int main(void) {
        SRunner *sr = srunner_create(make_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
