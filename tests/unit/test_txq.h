/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TSW_TEST_TXQ_H
#define TSW_TEST_TXQ_H
void register_txq_tests(void);
#endif
