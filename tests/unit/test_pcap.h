/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TSW_TEST_PCAP_H
#define TSW_TEST_PCAP_H
void register_pcap_tests(void);
#endif
