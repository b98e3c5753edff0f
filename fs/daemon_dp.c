/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_dp.c - the daemon's side of differential privacy: the epsilon
 * ledger (policy/ledger.h) charged when a role first opens a DP release
 * (sandbox.h), the size such a file shows before that, status, and the
 * "synthetic" control request (the utility report).
 *
 * Nothing of a release leaves the daemon before it is charged: a file
 * the caller's role has not been charged for shows size 0 (with attribute
 * timeout 0), and its open charges first and reads with direct I/O, so
 * the kernel asks the daemon for every byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "daemon_i.h"
#include "ledger.h"
#include "life.h"

/* The ledger key of release rel of node n: the dataset, the file and the
 * release's identity (which holds the role and the source's version). */
static void dmn_dp_key(const struct ns_node *n, const uint8_t rel[32],
		       char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const char *dot;
	char id[33];

	for (size_t i = 0; i < 16; i++) {
		id[2 * i] = hex[rel[i] >> 4];
		id[2 * i + 1] = hex[rel[i] & 15];
	}
	id[32] = 0;
	/* Without the extension: the CSV and the Parquet of a release are
	 * one release (the same noisy answers), charged once. */
	dot = strrchr(n->sub, '.');
	snprintf(buf, len, "%s/%.*s@%s", n->ds->name,
		 dot ? (int)(dot - n->sub - 1) : (int)strlen(n->sub + 1),
		 n->sub + 1, id);
}

int dmn_dp_setup(struct dmn *d, struct spot_err *err)
{
	const struct cfg *cfg = d->sbx->cfg;
	struct ledger_opts o = { cfg->dp.per_role, cfg->dp.per_sandbox, NULL };
	char dir[PATH_MAX], path[PATH_MAX + 64], name[33];
	uint8_t id[32];
	int rc;

	if (!cfg->dp.set)
		return 0;
	if (cfg->dp.persistent) {
		static const char hex[] = "0123456789abcdef";

		/* One ledger per source and secret (the same noise). */
		msk_dp_seed(d->sbx->keys, cfg->source, id);
		for (size_t i = 0; i < 16; i++) {
			name[2 * i] = hex[id[i] >> 4];
			name[2 * i + 1] = hex[id[i] & 15];
		}
		name[32] = 0;
		rc = life_state_dir(cfg, dir, sizeof(dir));
		if (rc) {
			spot_err_set(err, "the state folder: %s",
				     strerror(-rc));
			return rc;
		}
		snprintf(path, sizeof(path), "%s/dp-ledger-%s", dir, name);
		o.path = path;
	}
	return ledger_open(&o, &d->ledger, err);
}

void dmn_dp_fini(struct dmn *d)
{
	ledger_free(d->ledger);
	d->ledger = NULL;
}

/*
 * Whether c is the daemon itself (a thread of this process: spotfs
 * export reads through the mount). Its opens stand for the exporter:
 * charged to the exporter's role, refused outside an export.
 */
static bool dmn_dp_self(const struct dmn_caller *c)
{
	char p[64];

	if (!c || c->pid <= 0)
		return false;
	snprintf(p, sizeof(p), "/proc/self/task/%d", (int)c->pid);
	return !access(p, F_OK);
}

/* The role whose ledger decides for c (NULL: none, refuse). */
static const char *dmn_dp_role(struct dmn *d, const struct dmn_caller *c,
			       const char *role)
{
	if (dmn_dp_self(c))
		return __atomic_load_n(&d->dp_export_role, __ATOMIC_ACQUIRE);
	return role;
}

/*
 * The identity of release n for its role: the built view's when there is
 * one (a view is fixed within a sandbox, whatever the source does next),
 * else the one a build would have now (sbx_dp_release).
 */
static int dmn_dp_rel(struct dmn *d, const struct ns_node *n, uint8_t rel[32],
		      struct spot_err *err)
{
	struct vc_view *v =
		vc_peek(d->sbx->views, n->ds->name, n->sub, n->role);

	if (v && v->state == VC_READY) {
		memcpy(rel, v->content.release, 32);
		vc_put(v);
		return 0;
	}
	vc_put(v);
	return sbx_dp_release(d->sbx, n->ds, n->sub, n->role, rel, err);
}

bool dmn_dp_hidden(struct dmn *d, const struct ns_node *n, const char *role,
		   const struct dmn_caller *c)
{
	struct spot_err err = { "" };
	char key[PATH_MAX + 64];
	uint8_t rel[32];

	if (!sbx_dp_charged(n->sub))
		return false;
	role = dmn_dp_role(d, c, role);
	if (!role || strcmp(role, n->role) || !d->ledger ||
	    dmn_dp_rel(d, n, rel, &err))
		return true;
	dmn_dp_key(n, rel, key, sizeof(key));
	return !ledger_charged(d->ledger, role, key);
}

int dmn_dp_open(struct dmn *d, const struct ns_node *n,
		const struct dmn_caller *c, uint8_t rel[32],
		struct fuse_file_info *fi)
{
	char key[PATH_MAX + 64], eps_s[32], detail[200], path[PATH_MAX];
	struct spot_err err = { "" };
	uint64_t eps = 0, delta = 0;
	struct dmn_caller self;
	struct aud_event ev;
	bool fresh = false;
	int rc, arc;

	if (!sbx_dp_charged(n->sub))
		return 0;
	if (!d->ledger || sbx_dp_cost(n->ds, n->sub, &eps, &delta))
		return -EIO; /* a release without a ledger: never served */
	/* Charged before it is built: the key comes from the source's
	 * identity; the build must then have that same identity. */
	if (dmn_dp_rel(d, n, rel, &err)) {
		spot_log(SPOT_LOG_ERR, "%s", err.msg);
		return -EIO;
	}
	dmn_dp_key(n, rel, key, sizeof(key));
	fi->direct_io = 1; /* the size the kernel holds may be 0 */
	fi->keep_cache = 0;
	if (dmn_dp_self(c)) { /* export reads for the exporter's role */
		self = *c;
		self.role = dmn_dp_role(d, c, NULL);
		/* Nothing for itself, and only the exporter's own release
		 * (its row filter, its noise): never another role's. */
		if (!self.role || strcmp(self.role, n->role))
			return -EACCES;
		c = &self;
	}
	rc = ledger_charge(d->ledger, c->role, key, eps, delta, &fresh, &err);
	if (!rc && !fresh)
		return 0; /* charged before: rereading is free */
	dp_nano_text(eps, eps_s, sizeof(eps_s));
	if (rc == -EDQUOT)
		snprintf(detail, sizeof(detail),
			 "%.60s: epsilon %s: over the budget", n->sub + 1,
			 eps_s);
	else if (rc)
		snprintf(detail, sizeof(detail), "%.60s: ledger: %.80s",
			 n->sub + 1, err.msg[0] ? err.msg : strerror(-rc));
	else
		snprintf(detail, sizeof(detail), "%.60s: epsilon %s charged",
			 n->sub + 1, eps_s);
	dmn_node_path(d, n, path, sizeof(path));
	aud_event_init(&ev, AUD_EV_DP_CHARGE, NULL);
	ev.path = path;
	ev.decision = rc ? "deny" : "allow";
	ev.reason = rc == -EDQUOT ? "dp budget" : rc ? "ledger error" : "dp";
	ev.detail = detail;
	arc = dmn_audit(d, &ev, c, !rc);
	if (rc)
		spot_log(SPOT_LOG_WARN, "role %s: %s: %s", c->role, n->sub + 1,
			 detail);
	return rc ? rc : arc;
}

void dmn_dp_status(struct dmn *d, struct spot_buf *out, bool json)
{
	const struct cfg *cfg = d->sbx->cfg;
	uint64_t per_role, per_sandbox;
	struct ledger_use u;
	char a[32], b[32];

	if (!d->ledger)
		return;
	ledger_budget(d->ledger, &per_role, &per_sandbox);
	if (ledger_spent(d->ledger, NULL, &u))
		return;
	dp_nano_text(u.eps, a, sizeof(a));
	dp_nano_text(per_sandbox, b, sizeof(b));
	if (json)
		spot_buf_printf(out,
				"\"dp\":{\"spent\":%s,\"per_sandbox\":%s,"
				"\"releases\":%" PRIu64 ",\"roles\":[",
				a, per_sandbox ? b : "null", u.releases);
	else
		spot_buf_printf(out,
				"dp budget: sandbox spent %s of %s epsilon "
				"(%" PRIu64 " releases)\n",
				a, per_sandbox ? b : "unlimited", u.releases);
	for (size_t i = 0; i <= cfg->nroles; i++) {
		const char *role = i < cfg->nroles ? cfg->roles[i].name
						   : cfg->default_role;
		uint64_t left;

		if (ledger_spent(d->ledger, role, &u))
			continue;
		dp_nano_text(u.eps, a, sizeof(a));
		left = per_role > u.eps ? per_role - u.eps : 0;
		dp_nano_text(left, b, sizeof(b));
		if (json) {
			spot_buf_printf(out, "%s{\"role\":", i ? "," : "");
			spot_buf_json_str(out, role);
			spot_buf_printf(out, ",\"spent\":%s,\"remaining\":%s}",
					a, per_role ? b : "null");
		} else {
			char pr[256];

			spot_printable(role, pr, sizeof(pr));
			spot_buf_printf(out,
					"dp budget: role %s spent %s, "
					"remaining %s\n",
					pr, a, per_role ? b : "unlimited");
		}
	}
	if (json)
		spot_buf_printf(out, "]},");
}

int dmn_dp_role_use(struct dmn *d, const char *role, uint64_t *spent,
		    uint64_t *per_role)
{
	struct ledger_use u;
	uint64_t ps;
	int rc;

	if (!d->ledger)
		return -ENOENT;
	rc = ledger_spent(d->ledger, role, &u);
	if (rc)
		return rc;
	ledger_budget(d->ledger, per_role, &ps);
	*spent = u.eps;
	return 0;
}

int dmn_dp_request(struct dmn *d, const char *req, struct spot_buf *r)
{
	const struct cfg *cfg = d->sbx->cfg;
	const struct cfg_dataset *ds = NULL;
	struct spot_err err = { "" };
	const char *role, *sp;
	char name[PATH_MAX];
	int rc;

	/* "synthetic ROLE DATASET" (role names have no spaces) */
	sp = strchr(req, ' ');
	if (!sp || (size_t)(sp - req) >= sizeof(name)) {
		spot_buf_printf(r, "usage: synthetic ROLE DATASET");
		return -EINVAL;
	}
	memcpy(name, req, (size_t)(sp - req));
	name[sp - req] = 0;
	role = name;
	for (size_t i = 0; i < cfg->ndatasets; i++)
		if (!strcmp(cfg->datasets[i].name, sp + 1))
			ds = &cfg->datasets[i];
	if (!ds || !ds->synth) {
		spot_buf_printf(
			r, "%.200s: not a dataset with synthetic:", sp + 1);
		return -ENOENT;
	}
	rc = sbx_dp_tvd(d->sbx, ds, role, r, &err);
	if (rc) {
		spot_buf_reset(r);
		spot_buf_printf(r, "%s", err.msg);
	}
	return rc;
}
