/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TSW_TEST_CT_H
#define TSW_TEST_CT_H

void register_ct_tests(void);

#endif
