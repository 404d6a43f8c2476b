/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TSW_TEST_HOSTILE_H
#define TSW_TEST_HOSTILE_H
void register_hostile_tests(void);
#endif
