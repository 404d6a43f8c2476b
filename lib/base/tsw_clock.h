/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: the monotonic clock of the control path (not the dataplane's TSC
 * clock): microseconds and milliseconds since an arbitrary start.
 */
#ifndef TSW_CLOCK_H
#define TSW_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
tsw_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t
tsw_mono_ms(void)
{
	return tsw_mono_us() / 1000u;
}

#endif
