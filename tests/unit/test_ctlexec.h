/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TSW_TEST_CTLEXEC_H
#define TSW_TEST_CTLEXEC_H
void register_ctlexec_tests(void);
#endif
