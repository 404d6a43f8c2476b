/* SPDX-License-Identifier: BSD-3-Clause
 * tunsw: Neutron's security groups as the control plane holds them: the
 * groups and their rules, remote groups' members, address groups, the
 * groups of each port, and the rule sets compiled from them (tsw_sg).
 *
 * Contract (the table writer's; the requests come from tsw_ctl):
 *  - Every change is validated whole first; a refused change changes
 *    nothing.
 *  - Ports with the same groups share one rule set. A rule change builds
 *    the rule sets of the groups it touches again and publishes them to
 *    their ports (the old ones freed after a grace period); a member change
 *    is one entry of the members table, and the rule sets that name the
 *    group as a remote group take a new generation, so that their
 *    connections are judged again at their next packet (R-G7). An address
 *    group's change builds the rule sets that use it.
 *  - A port is filtered when it has port security and its groups were
 *    given (an empty list too: R-G6); the groups of a port must be all
 *    stateful or all stateless (as Neutron requires).
 */
#ifndef TSW_SECGROUPS_H
#define TSW_SECGROUPS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "tsw_dp.h"
#include "tsw_jarg.h"

#define TSW_SG_MAX_PORT_GROUPS 32
#define TSW_SG_MAX_RULES       1024   /* per group */

struct tsw_secgroups;

struct tsw_secgroups *tsw_secgroups_create(struct tsw_dp *dp);
void tsw_secgroups_free(struct tsw_secgroups *g);

/* {"id", "stateful" (default true), "rules": [Neutron's rules]}: create or
 * replace a group. */
int tsw_secgroups_group_set(struct tsw_secgroups *g, const json_t *req, struct tsw_jerr *e);
/* Refused while a port uses the group. */
int tsw_secgroups_group_del(struct tsw_secgroups *g, const char *id, struct tsw_jerr *e);
/* {"id", "set": [IP[/LEN]...]} (the whole list), or "add" / "remove":
 * remote-group members (Neutron's sg_member_ips). *changed: how many. */
int tsw_secgroups_members(struct tsw_secgroups *g, const json_t *req, uint32_t *changed,
			  struct tsw_jerr *e);
/* {"id", "addresses": [IP[/LEN]...]}: create or replace an address group. */
int tsw_secgroups_address_group_set(struct tsw_secgroups *g, const json_t *req,
				    struct tsw_jerr *e);
int tsw_secgroups_address_group_del(struct tsw_secgroups *g, const char *id,
				    struct tsw_jerr *e);

/* A port's groups, from a request's "security_groups" array (field names
 * the member for errors): the rule set for them, held for the port. Two
 * steps: tsw_secgroups_prepare() resolves and builds (nothing changes for
 * the port yet); tsw_secgroups_commit() makes it the port's (publishing it
 * when the port exists: port >= 0), or tsw_secgroups_abort() lets it go. */
struct tsw_sg_choice {
	bool filtered;
	uint16_t n;
	uint16_t groups[TSW_SG_MAX_PORT_GROUPS];
	void *set;                   /* the shared rule set (held) */
};
int tsw_secgroups_prepare(struct tsw_secgroups *g, const json_t *list, const char *field,
			  struct tsw_sg_choice *c, struct tsw_jerr *e);
const struct tsw_sg_ruleset *tsw_secgroups_ruleset(const struct tsw_sg_choice *c);
int tsw_secgroups_commit(struct tsw_secgroups *g, int port, struct tsw_sg_choice *c);
void tsw_secgroups_abort(struct tsw_secgroups *g, struct tsw_sg_choice *c);
/* The port is gone, or no longer filtered (port security off). */
void tsw_secgroups_port_clear(struct tsw_secgroups *g, uint16_t port);

/* Building rule sets off the table writer (the daemon; rte_acl_build
 * takes milliseconds for hundreds of rules). tsw_secgroups_defer(on): from
 * now on a request that needs a rule set not built yet records it and is
 * refused ("being built"; like every refusal it changes nothing) and
 * tsw_secgroups_wanted() says so; tsw_secgroups_build_start() builds what
 * was recorded on a control thread, tsw_secgroups_build_poll() returns 1
 * once it is done (build_fd() is readable then), and the same request
 * made again finds the rule sets it wants ready (a build's error too) and
 * goes through — the model is the same as long as no other change came
 * between. tsw_secgroups_build_end(): the request is answered; what it did
 * not use is freed, deferring stops. Without defer rule sets are built on
 * the calling thread. */
void tsw_secgroups_defer(struct tsw_secgroups *g, bool on);
bool tsw_secgroups_wanted(const struct tsw_secgroups *g);
int tsw_secgroups_build_start(struct tsw_secgroups *g);
int tsw_secgroups_build_poll(struct tsw_secgroups *g);
int tsw_secgroups_build_fd(const struct tsw_secgroups *g);
void tsw_secgroups_build_end(struct tsw_secgroups *g);
struct tsw_secgroups_build_stats {
	uint64_t inline_builds;      /* on the calling thread */
	uint64_t inline_max_us;      /* the longest of them */
	uint64_t offloaded;          /* on the builder thread */
	uint64_t rounds;             /* builder thread runs */
	uint64_t max_us;             /* the longest run */
};
void tsw_secgroups_build_stats(const struct tsw_secgroups *g,
			       struct tsw_secgroups_build_stats *st);

/* show_security_groups: [{"id", "stateful", "rules": [...], "members":
 * {"IPv4": n, "IPv6": n}, "ports": [...]}], address groups too. */
json_t *tsw_secgroups_json(const struct tsw_secgroups *g);
/* The port's groups (show_ports), NULL when not filtered. */
json_t *tsw_secgroups_port_json(const struct tsw_secgroups *g, uint16_t port);
/* "GROUP#N": the rule of rule set rs with ACL result rule (trace). */
const char *tsw_secgroups_rule_name(const struct tsw_secgroups *g,
				    const struct tsw_sg_ruleset *rs, uint32_t rule, char *buf,
				    size_t len);

#endif
