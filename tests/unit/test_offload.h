/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TSW_TEST_OFFLOAD_H
#define TSW_TEST_OFFLOAD_H
void register_offload_tests(void);
#endif
