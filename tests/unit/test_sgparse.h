/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TSW_TEST_SGPARSE_H
#define TSW_TEST_SGPARSE_H

void register_sgparse_tests(void);

#endif
