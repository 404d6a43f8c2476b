/* SPDX-License-Identifier: BSD-3-Clause
 * Capture files: frames through libpcap (pcap and pcapng in, pcap out), the
 * interfaces of a pcapng file from its blocks, pcapng out. See tsw_pcap.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "tsw_pcap.h"

/* pcapng (draft-ietf-opsawg-pcapng): block types, options */
#define NG_SHB 0x0A0D0D0Au
#define NG_IDB 1u
#define NG_PB  2u      /* obsolete packet block */
#define NG_SPB 3u
#define NG_EPB 6u
#define NG_MAGIC 0x1A2B3C4Du
#define NG_OPT_END 0
#define NG_SHB_USERAPPL 4
#define NG_IF_NAME 2
#define NG_IF_DESCR 3
#define NG_IF_TSRESOL 9
#define NG_IF_HARDWARE 15
#define NG_EPB_FLAGS 2

struct tsw_pcap_out {
	enum tsw_pcap_format fmt;
	pcap_t *p;
	pcap_dumper_t *d;
	FILE *f;
	uint32_t n_ifaces;
	bool failed;
};

/* ---- reading ---- */

static uint32_t
rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static uint16_t
rd16(const uint8_t *p, bool swap)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap16(v) : v;
}

static void
opt_str(char *dst, const uint8_t *v, uint16_t len)
{
	size_t n = len < TSW_PCAP_IFNAME_LEN - 1 ? len : TSW_PCAP_IFNAME_LEN - 1;

	memcpy(dst, v, n);   /* a value with its own NUL ends there */
	dst[n] = '\0';
}

/* The options of a block, from opt to end: an interface block's into ifc,
 * an enhanced packet block's direction into pkt (the other one NULL). */
static int
options(const uint8_t *opt, const uint8_t *end, bool swap, struct tsw_pcap_iface *ifc,
	struct tsw_pcapng_pkt *pkt)
{
	while (end - opt >= 4) {
		uint16_t code = rd16(opt, swap), len = rd16(opt + 2, swap);
		size_t padded = ((size_t)len + 3) & ~(size_t)3;

		if (code == NG_OPT_END)
			return 0;
		if ((size_t)(end - opt - 4) < padded)
			return -1;
		if (ifc != NULL && code == NG_IF_NAME)
			opt_str(ifc->name, opt + 4, len);
		else if (ifc != NULL && code == NG_IF_DESCR)
			opt_str(ifc->descr, opt + 4, len);
		else if (ifc != NULL && code == NG_IF_HARDWARE)
			opt_str(ifc->hw, opt + 4, len);
		else if (pkt != NULL && code == NG_EPB_FLAGS && len == 4)
			pkt->dir = (uint8_t)(rd32(opt + 4, swap) & 3);
		opt += 4 + padded;
	}
	return opt == end ? 0 : -1;
}

int
tsw_pcapng_walk(const uint8_t *buf, size_t len, struct tsw_pcap_iface **ifaces,
		uint32_t *n_ifaces, struct tsw_pcapng_pkt **pkts, size_t *n_pkts, char *err,
		size_t errlen)
{
	struct tsw_pcap_iface *ifc = NULL;
	struct tsw_pcapng_pkt *pi = NULL;
	size_t npi = 0, cap = 0, off = 0;
	uint32_t nif = 0, base = 0;
	bool swap = false;
	const char *why = NULL;

	*ifaces = NULL;
	*n_ifaces = 0;
	*pkts = NULL;
	*n_pkts = 0;
	while (off < len) {
		const uint8_t *b = buf + off;
		uint32_t type, blen;

		if (len - off < 12) {
			why = "truncated block header";
			goto fail;
		}
		type = rd32(b, swap);
		if (type == NG_SHB) {
			uint32_t magic;

			if (len - off < 28) {
				why = "truncated section header";
				goto fail;
			}
			memcpy(&magic, b + 8, sizeof(magic));
			if (magic == NG_MAGIC)
				swap = false;
			else if (magic == __builtin_bswap32(NG_MAGIC))
				swap = true;
			else {
				why = "bad byte-order magic";
				goto fail;
			}
			base = nif;   /* interface ids start again in each section */
		} else if (off == 0) {
			why = "not a pcapng file (no section header)";
			goto fail;
		}
		blen = rd32(b + 4, swap);
		if (blen < 12 || blen % 4 != 0 || blen > len - off) {
			why = "bad block length";
			goto fail;
		}
		if (rd32(b + blen - 4, swap) != blen) {
			why = "block lengths disagree";
			goto fail;
		}
		if (type == NG_SHB && blen < 28) {
			why = "section header too short";
			goto fail;
		}
		if (type == NG_IDB) {
			struct tsw_pcap_iface *n;

			if (blen < 20) {
				why = "interface block too short";
				goto fail;
			}
			if (nif == TSW_PCAP_MAX_IFACES) {
				why = "too many interfaces";
				goto fail;
			}
			n = realloc(ifc, (nif + 1) * sizeof(*ifc));
			if (n == NULL) {
				why = "out of memory";
				goto fail;
			}
			ifc = n;
			memset(&ifc[nif], 0, sizeof(ifc[nif]));
			if (options(b + 16, b + blen - 4, swap, &ifc[nif], NULL) < 0) {
				why = "bad interface options";
				goto fail;
			}
			nif++;
		} else if (type == NG_EPB || type == NG_SPB || type == NG_PB) {
			struct tsw_pcapng_pkt pk = { 0, TSW_PCAP_DIR_UNKNOWN };

			if (blen < (type == NG_SPB ? 16u : 32u)) {
				why = "packet block too short";
				goto fail;
			}
			pk.iface = type == NG_EPB ? rd32(b + 8, swap) :
				   type == NG_PB ? rd16(b + 8, swap) : 0;
			if (pk.iface >= nif - base) {
				why = "packet on an undefined interface";
				goto fail;
			}
			if (type == NG_EPB) {
				uint64_t cap_len = rd32(b + 20, swap);
				uint64_t data_end = 28 + ((cap_len + 3) & ~3ULL);

				if (data_end > blen - 4 ||
				    options(b + data_end, b + blen - 4, swap, NULL, &pk) < 0) {
					why = "bad packet block (length or options)";
					goto fail;
				}
			}
			pk.iface += base;
			if (npi == cap) {
				struct tsw_pcapng_pkt *n;
				cap = cap ? cap * 2 : 256;
				n = realloc(pi, cap * sizeof(*pi));
				if (n == NULL) {
					why = "out of memory";
					goto fail;
				}
				pi = n;
			}
			pi[npi++] = pk;
		}
		off += blen;
	}
	*ifaces = ifc;
	*n_ifaces = nif;
	*pkts = pi;
	*n_pkts = npi;
	return 0;
fail:
	snprintf(err, errlen, "pcapng block at offset %zu: %s", off, why);
	free(ifc);
	free(pi);
	return -1;
}

/* For a pcapng file: its interfaces and each frame's. A classic pcap file
 * gets one unnamed interface (*pkt_iface NULL: every frame on it). */
static int
file_interfaces(const char *path, struct tsw_pcap_file *f, struct tsw_pcapng_pkt **pkt_iface,
		size_t *n_pkts, char *err, size_t errlen)
{
	char why[256];
	struct stat st;
	uint32_t magic = 0;
	void *map;
	int fd = open(path, O_RDONLY), rc;

	*pkt_iface = NULL;
	*n_pkts = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size < (off_t)sizeof(magic) || pread(fd, &magic, sizeof(magic), 0) !=
	    (ssize_t)sizeof(magic) || magic != NG_SHB) {
		close(fd);   /* not pcapng: libpcap says what it is */
		f->ifaces = calloc(1, sizeof(*f->ifaces));
		f->n_ifaces = 1;
		if (f->ifaces == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = tsw_pcapng_walk(map, (size_t)st.st_size, &f->ifaces, &f->n_ifaces, pkt_iface,
			     n_pkts, why, sizeof(why));
	munmap(map, (size_t)st.st_size);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}

int
tsw_pcap_read(const char *path, struct tsw_pcap_file *f, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct tsw_pcap_rec *r = NULL;
	size_t cap = 0, cnt = 0, n_pkts = 0;
	struct tsw_pcapng_pkt *pkt_iface = NULL;
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	int rc;

	memset(f, 0, sizeof(*f));
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (p == NULL) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		snprintf(err, errlen, "%s: link type %d is not Ethernet", path, pcap_datalink(p));
		goto fail;
	}
	if (file_interfaces(path, f, &pkt_iface, &n_pkts, err, errlen) < 0)
		goto fail;
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (h->caplen != h->len || h->caplen > TSW_PCAP_SNAP) {
			snprintf(err, errlen, "%s: record %zu: %u of %u bytes captured (snap length)",
				 path, cnt, h->caplen, h->len);
			goto fail;
		}
		if (pkt_iface != NULL && cnt >= n_pkts) {
			snprintf(err, errlen, "%s: record %zu: more frames than packet blocks",
				 path, cnt);
			goto fail;
		}
		if (cnt == cap) {
			struct tsw_pcap_rec *nr;
			cap = cap ? cap * 2 : 64;
			nr = realloc(r, cap * sizeof(*r));
			if (nr == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			r = nr;
		}
		r[cnt].len = h->caplen;
		r[cnt].ts = (tsw_ns_t)h->ts.tv_sec * TSW_NS_PER_SEC + (tsw_ns_t)h->ts.tv_usec;
		r[cnt].iface = pkt_iface != NULL ? pkt_iface[cnt].iface : 0;
		r[cnt].dir = pkt_iface != NULL ? pkt_iface[cnt].dir : TSW_PCAP_DIR_UNKNOWN;
		r[cnt].data = malloc(h->caplen ? h->caplen : 1);
		if (r[cnt].data == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		memcpy(r[cnt].data, data, h->caplen);
		cnt++;
	}
	if (rc == PCAP_ERROR) {
		snprintf(err, errlen, "%s: record %zu: %s", path, cnt, pcap_geterr(p));
		goto fail;
	}
	if (pkt_iface != NULL && cnt != n_pkts) {
		snprintf(err, errlen, "%s: libpcap read %zu frames of %zu packet blocks", path, cnt,
			 n_pkts);
		goto fail;
	}
	pcap_close(p);
	free(pkt_iface);
	f->recs = r;
	f->n = cnt;
	return 0;
fail:
	f->recs = r;
	f->n = cnt;
	tsw_pcap_free(f);
	free(pkt_iface);
	pcap_close(p);
	return -1;
}

void
tsw_pcap_free(struct tsw_pcap_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->recs[i].data);
	free(f->recs);
	free(f->ifaces);
	memset(f, 0, sizeof(*f));
}

bool
tsw_pcap_iface_match(const struct tsw_pcap_file *f, uint32_t i, const char *sel, bool by_index)
{
	const struct tsw_pcap_iface *ifc;
	const char *dev;
	char *end;
	unsigned long idx;

	if (i >= f->n_ifaces || sel[0] == '\0')
		return false;
	ifc = &f->ifaces[i];
	dev = strchr(ifc->hw, '-');
	errno = 0;
	idx = strtoul(sel, &end, 10);
	if (by_index && *end == '\0' && errno == 0 && sel[0] >= '0' && sel[0] <= '9')
		return idx == i;
	return strcmp(sel, ifc->name) == 0 || strcmp(sel, ifc->descr) == 0 ||
	       (ifc->hw[0] != '\0' && strcmp(sel, ifc->hw) == 0) ||
	       (dev != NULL && strcmp(sel, dev + 1) == 0);
}

/* ---- writing ---- */

struct tsw_pcap_out *
tsw_pcap_create(const char *path, char *err, size_t errlen)
{
	struct tsw_pcap_out *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	o->fmt = TSW_PCAP_FMT_PCAP;
	o->p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, TSW_PCAP_SNAP,
						    PCAP_TSTAMP_PRECISION_NANO);
	o->d = o->p != NULL ? pcap_dump_open(o->p, path) : NULL;
	if (o->d == NULL) {
		snprintf(err, errlen, "%s: %s", path, o->p != NULL ? pcap_geterr(o->p) :
			 "cannot open a capture");
		tsw_pcap_close(o);
		return NULL;
	}
	return o;
}

static void
put(struct tsw_pcap_out *o, const void *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, o->f) != n)
		o->failed = true;
}

static void
put32(struct tsw_pcap_out *o, uint32_t v)
{
	put(o, &v, sizeof(v));
}

/* An option (code, value of len bytes), padded to 4 bytes. */
static void
put_opt(struct tsw_pcap_out *o, uint16_t code, const void *v, uint16_t len)
{
	static const uint8_t zero[4];
	uint16_t h[2] = { code, len };

	put(o, h, sizeof(h));
	put(o, v, len);
	put(o, zero, (4 - len % 4) % 4);
}

static uint32_t
opt_len(size_t len)
{
	return (uint32_t)(4 + ((len + 3) & ~(size_t)3));
}

static uint16_t
str_len(const char *s)
{
	size_t n = strlen(s);

	return (uint16_t)(n < 255 ? n : 255);
}

static struct tsw_pcap_out *pcapng_start(struct tsw_pcap_out *o, const char *path,
					 const char *appname, char *err, size_t errlen);

struct tsw_pcap_out *
tsw_pcapng_create(const char *path, const char *appname, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct tsw_pcap_out *o;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	o = tsw_pcapng_fdopen(fd, path, appname, err, errlen);
	if (o == NULL)
		close(fd);
	return o;
}

struct tsw_pcap_out *
tsw_pcapng_fdopen(int fd, const char *what, const char *appname, char *err, size_t errlen)
{
	struct tsw_pcap_out *o = calloc(1, sizeof(*o));

	if (o == NULL || (o->f = fdopen(fd, "wb")) == NULL) {
		snprintf(err, errlen, "%s: %s", what, o ? strerror(errno) : "out of memory");
		free(o);
		return NULL;
	}
	return pcapng_start(o, what, appname, err, errlen);
}

/* The section header of a new pcapng file o. */
static struct tsw_pcap_out *
pcapng_start(struct tsw_pcap_out *o, const char *path, const char *appname, char *err,
	     size_t errlen)
{
	uint16_t al = str_len(appname);
	uint32_t blen = 28 + opt_len(al) + 4;
	uint16_t ver[2] = { 1, 0 };
	uint64_t section_len = UINT64_MAX;   /* not given */

	o->fmt = TSW_PCAP_FMT_PCAPNG;
	put32(o, NG_SHB);
	put32(o, blen);
	put32(o, NG_MAGIC);
	put(o, ver, sizeof(ver));
	put(o, &section_len, sizeof(section_len));
	put_opt(o, NG_SHB_USERAPPL, appname, al);
	put_opt(o, NG_OPT_END, NULL, 0);
	put32(o, blen);
	if (o->failed) {
		snprintf(err, errlen, "%s: cannot write", path);
		tsw_pcap_close(o);
		return NULL;
	}
	return o;
}

int
tsw_pcapng_add_iface(struct tsw_pcap_out *o, const char *name, const char *descr)
{
	const uint8_t tsresol = 9;   /* nanoseconds */
	uint16_t nl = str_len(name), dl = str_len(descr);
	uint32_t blen = 16 + opt_len(nl) + (dl ? opt_len(dl) : 0) + opt_len(1) + 4 + 4;
	uint16_t lt[2] = { 1 /* Ethernet */, 0 };

	if (o->fmt != TSW_PCAP_FMT_PCAPNG || o->n_ifaces == TSW_PCAP_MAX_IFACES)
		return -1;
	put32(o, NG_IDB);
	put32(o, blen);
	put(o, lt, sizeof(lt));
	put32(o, TSW_PCAP_SNAP);
	put_opt(o, NG_IF_NAME, name, nl);
	if (dl)
		put_opt(o, NG_IF_DESCR, descr, dl);
	put_opt(o, NG_IF_TSRESOL, &tsresol, 1);
	put_opt(o, NG_OPT_END, NULL, 0);
	put32(o, blen);
	return o->failed ? -1 : (int)o->n_ifaces++;
}

int
tsw_pcap_write(struct tsw_pcap_out *o, uint32_t iface, tsw_ns_t ts, const void *data,
	       uint32_t len)
{
	if (o->fmt == TSW_PCAP_FMT_PCAP) {
		struct pcap_pkthdr h = {
			.ts = { .tv_sec = (time_t)(ts / TSW_NS_PER_SEC),
				.tv_usec = (suseconds_t)(ts % TSW_NS_PER_SEC) },   /* ns */
			.caplen = len, .len = len,
		};
		pcap_dump((u_char *)o->d, &h, data);
		return 0;
	}
	return tsw_pcapng_write_epb(o, iface, ts, TSW_PCAP_DIR_UNKNOWN, data, len, len);
}

int
tsw_pcapng_write_epb(struct tsw_pcap_out *o, uint32_t iface, tsw_ns_t ts, enum tsw_pcap_dir dir,
		     const void *data, uint32_t caplen, uint32_t origlen)
{
	static const uint8_t zero[4];
	uint32_t flags = (uint32_t)dir;
	/* the direction as epb_flags, and the end of options */
	uint32_t opts = dir != TSW_PCAP_DIR_UNKNOWN ? opt_len(4) + 4 : 0;
	uint32_t blen = 28 + ((caplen + 3) & ~3u) + opts + 4;

	if (o->fmt != TSW_PCAP_FMT_PCAPNG || iface >= o->n_ifaces || caplen > TSW_PCAP_SNAP ||
	    caplen > origlen)
		return -1;
	put32(o, NG_EPB);
	put32(o, blen);
	put32(o, iface);
	put32(o, (uint32_t)(ts >> 32));
	put32(o, (uint32_t)ts);
	put32(o, caplen);
	put32(o, origlen);
	put(o, data, caplen);
	put(o, zero, (4 - caplen % 4) % 4);
	if (opts) {
		put_opt(o, NG_EPB_FLAGS, &flags, 4);
		put_opt(o, NG_OPT_END, NULL, 0);
	}
	put32(o, blen);
	return o->failed ? -1 : 0;
}

int
tsw_pcap_close(struct tsw_pcap_out *o)
{
	int rc = 0;

	if (o == NULL)
		return 0;
	if (o->d != NULL) {
		if (pcap_dump_flush(o->d) != 0)
			rc = -1;
		pcap_dump_close(o->d);
	}
	if (o->p != NULL)
		pcap_close(o->p);
	if (o->f != NULL && (fclose(o->f) != 0 || o->failed))
		rc = -1;
	free(o);
	return rc;
}
