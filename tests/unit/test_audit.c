/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_audit.c - the hash-chained audit log: round trip, sanitising and
 * escaping, a long chain, every tampering mode, signatures, batching
 * throughput, failure -> unhealthy -> -EIO, and two processes sharing one
 * chain.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit.h"
#include "check.h"
#include "spot.h"

static char tmpdir[256];
static int db_counter;

static void db_path(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "%s/%s-%d.db", tmpdir, what, db_counter++);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ev_open(struct aud_event *ev, const char *sandbox, int i)
{
	aud_event_init(ev, AUD_EV_OPEN, sandbox);
	ev->uid = 1000;
	ev->gid = 1000;
	ev->pid = 4000 + i;
	ev->process = "python3";
	ev->role = "analyst";
	ev->path = "customers.csv";
	ev->decision = "allow";
	ev->reason = "role analyst allowed";
}

/* Write n open events (with a signing seed if given) and close. */
static int make_log(const char *path, int n, const uint8_t *seed)
{
	struct aud_log_opts o = { .sign_seed = seed };
	struct aud_log *log;
	struct aud_event ev;
	int i, rc;

	rc = aud_log_open(path, &o, &log);
	if (rc)
		return rc;
	for (i = 0; i < n && !rc; i++) {
		ev_open(&ev, "00112233aabbccdd", i);
		ev.bytes = i;
		rc = aud_log_append(log, &ev);
	}
	if (!rc)
		rc = aud_log_flush(log);
	return aud_log_close(log) ? -EIO : rc;
}

/* Run SQL on a database with a plain connection (the attacker). */
static int tamper(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
				  "DROP TRIGGER IF EXISTS events_no_update;"
				  "DROP TRIGGER IF EXISTS events_no_delete;",
				  NULL, NULL, &err);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		printf("# tamper failed: %s\n", err ? err : "?");
	sqlite3_free(err);
	sqlite3_close(db);
	return rc;
}

/* ---- round trip ---- */

struct collect {
	int n;
	struct spot_buf text, json;
	uint64_t last_seq;
	int ordered;
};

static int collect_cb(const struct aud_event *ev, void *arg)
{
	struct collect *c = arg;

	c->ordered &= ev->seq > c->last_seq;
	c->last_seq = ev->seq;
	c->n++;
	aud_event_format_text(ev, &c->text);
	aud_event_format_json(ev, &c->json);
	return 0;
}

static void test_round_trip(void)
{
	struct collect c = { .ordered = 1 };
	struct aud_log *log = NULL;
	struct aud_event ev;
	char path[512], big[10000];
	struct stat st;
	int rc;

	db_path(path, sizeof(path), "rt");
	rc = aud_log_open(path, NULL, &log);
	CHECK(rc == 0, "audit log opens (%d)", rc);
	if (rc)
		return;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "audit db mode 0600");
	aud_event_init(&ev, AUD_EV_MOUNT, "aaaaaaaaaaaaaaaa");
	ev.detail = "/mnt/exp ttl=2h";
	CHECK(aud_log_append(log, &ev) == 0, "append mount");
	ev_open(&ev, "aaaaaaaaaaaaaaaa", 1);
	CHECK(aud_log_append_sync(log, &ev) == 0, "append_sync open");
	aud_event_init(&ev, AUD_EV_RELEASE, "aaaaaaaaaaaaaaaa");
	ev.bytes = 123456;
	ev.rows = 789;
	ev.detail = "esc\x1b[31m\nline\\";
	CHECK(aud_log_append(log, &ev) == 0, "append release");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	aud_event_init(&ev, AUD_EV_POLICY_ERROR, "bbbbbbbbbbbbbbbb");
	ev.detail = big;
	CHECK(aud_log_append(log, &ev) == 0, "append oversized detail");
	aud_event_init(&ev, AUD_EV_UNKNOWN, "bbbbbbbbbbbbbbbb");
	CHECK(aud_log_append(log, &ev) == -EINVAL, "unknown type refused");
	ev.type = AUD_EV_COUNT;
	CHECK(aud_log_append(log, &ev) == -EINVAL, "out-of-range type");
	CHECK(aud_log_flush(log) == 0, "flush");
	CHECK(aud_log_close(log) == 0, "close");

	spot_buf_init(&c.text);
	spot_buf_init(&c.json);
	rc = aud_query(path, NULL, 0, collect_cb, &c);
	CHECK(rc == 0 && c.n == 4 && c.ordered, "query all: %d in seq order",
	      c.n);
	CHECK(c.text.p && strstr((char *)c.text.p, " open ") &&
		      strstr((char *)c.text.p, "role=\"analyst\"") &&
		      strstr((char *)c.text.p, "bytes=123456 rows=789"),
	      "text format has the fields");
	CHECK(c.text.p && strstr((char *)c.text.p,
				 "detail=\"esc\\x1b[31m\\x0aline\\\\\""),
	      "control bytes and backslash escaped when stored");
	CHECK(c.text.p && !strchr((char *)c.text.p, 0x1b),
	      "no raw escape byte reaches the terminal");
	CHECK(c.json.p && strstr((char *)c.json.p, "\"uid\":1000") &&
		      strstr((char *)c.json.p, "\"uid\":null") &&
		      strstr((char *)c.json.p, "\"event\":\"mount\""),
	      "JSON has numbers and nulls");
	spot_buf_reset(&c.text);
	spot_buf_reset(&c.json);
	c.n = 0;
	c.last_seq = 0;
	rc = aud_query(path, "bbbbbbbbbbbbbbbb", 0, collect_cb, &c);
	CHECK(rc == 0 && c.n == 1, "query by sandbox: %d", c.n);
	CHECK(c.json.p && strlen((char *)c.json.p) < AUD_FIELD_MAX + 400,
	      "detail capped at %d bytes", AUD_FIELD_MAX);
	c.n = 0;
	c.last_seq = 0;
	rc = aud_query(path, NULL, (int64_t)time(NULL) + 3600, collect_cb, &c);
	CHECK(rc == 0 && c.n == 0, "query since the future: none");
	spot_buf_fini(&c.text);
	spot_buf_fini(&c.json);
}

static void test_json_escaping(void)
{
	struct aud_event ev;
	struct spot_buf b;
	const char *want;
	/* quote, backslash, newline, tab, 0x01, DEL, C1 CSI, é, €, emoji,
	 * a stray 0xff, an overlong '/', a surrogate half. */
	const char odd[] = "q\"b\\n\nt\t\x01\x7f\xc2\x9b"
			   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			   "\xff\xc0\xaf\xed\xa0\x80.";

	aud_event_init(&ev, AUD_EV_DENY, "cccccccccccccccc");
	ev.seq = 5;
	ev.time_ms = 1700000000123LL;
	ev.detail = odd;
	spot_buf_init(&b);
	CHECK(aud_event_format_json(&ev, &b) == 0, "JSON formatted");
	want = "{\"seq\":5,\"time\":\"2023-11-14T22:13:20.123Z\","
	       "\"time_ms\":1700000000123,\"sandbox\":\"cccccccccccccccc\","
	       "\"event\":\"deny\",\"uid\":null,\"gid\":null,\"pid\":null,"
	       "\"process\":\"\",\"role\":\"\",\"path\":\"\","
	       "\"decision\":\"\",\"reason\":\"\",\"bytes\":null,"
	       "\"rows\":null,\"detail\":\"q\\\"b\\\\n\\nt\\t\\u0001\\u007f"
	       "\\u009b\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	       "\\\\xff\\\\xc0\\\\xaf\\\\xed\\\\xa0\\\\x80.\"}\n";
	CHECK(b.p && !strcmp((char *)b.p, want), "JSON escaping exact: %s",
	      b.p ? (char *)b.p : "(null)");
	spot_buf_reset(&b);
	CHECK(aud_event_format_text(&ev, &b) == 0 && b.p &&
		      strstr((char *)b.p,
			     "detail=\"q\\x22b\\n\\x0at\\x09\\x01\\x7f"
			     "\\xc2\\x9b\xc3\xa9"),
	      "text escaping: %s", b.p ? (char *)b.p : "(null)");
	spot_buf_fini(&b);
}

/* ---- chain ---- */

static void test_long_chain(void)
{
	struct aud_verify_result res;
	struct aud_log *log = NULL;
	struct aud_event ev;
	char path[512];
	int i, rc = 0, n = 10000;
	double t0, t1;

	db_path(path, sizeof(path), "long");
	if (aud_log_open(path, NULL, &log))
		return;
	t0 = now_s();
	for (i = 0; i < n && !rc; i++) {
		ev_open(&ev, "dddddddddddddddd", i);
		rc = aud_log_append(log, &ev);
	}
	rc = rc ? rc : aud_log_flush(log);
	t1 = now_s();
	CHECK(rc == 0, "10000 events appended and flushed");
	printf("# writer throughput: %.0f events/s (async append + flush)\n",
	       n / (t1 - t0));
	t0 = now_s();
	for (i = 0; i < 200 && !rc; i++) {
		ev_open(&ev, "dddddddddddddddd", i);
		rc = aud_log_append_sync(log, &ev);
	}
	t1 = now_s();
	printf("# append_sync latency: %.1f us per event\n",
	       (t1 - t0) / 200 * 1e6);
	aud_log_close(log);
	t0 = now_s();
	rc = aud_verify(path, NULL, &res);
	t1 = now_s();
	CHECK(rc == 0 && res.status == AUD_VERIFY_OK &&
		      res.records == (uint64_t)n + 200 &&
		      res.head_seq == (uint64_t)n + 200,
	      "long chain verifies: %s", res.msg);
	printf("# verify: %.0f records/s\n", res.records / (t1 - t0));
}

struct tamper_case {
	const char *name;
	const char *sql;
	enum aud_verify_status status;
	uint64_t first_bad;
};

static void test_tampering(void)
{
	static const struct tamper_case cases[] = {
		{ "edit a field", "UPDATE events SET path='x' WHERE seq=37",
		  AUD_VERIFY_MODIFIED, 37 },
		{ "edit a number", "UPDATE events SET bytes=0 WHERE seq=80",
		  AUD_VERIFY_MODIFIED, 80 },
		{ "edit a time", "UPDATE events SET time_ms=1 WHERE seq=2",
		  AUD_VERIFY_MODIFIED, 2 },
		{ "delete a middle record", "DELETE FROM events WHERE seq=50",
		  AUD_VERIFY_MISSING, 50 },
		{ "delete the first record", "DELETE FROM events WHERE seq=1",
		  AUD_VERIFY_MISSING, 1 },
		{ "swap two records' seq",
		  "UPDATE events SET seq=-20 WHERE seq=20;"
		  "UPDATE events SET seq=20 WHERE seq=21;"
		  "UPDATE events SET seq=21 WHERE seq=-20;",
		  AUD_VERIFY_LINK, 20 },
		{ "renumber after a delete",
		  "DELETE FROM events WHERE seq=60;"
		  "UPDATE events SET seq=seq-1 WHERE seq>60;"
		  "UPDATE head SET seq=seq-1;",
		  AUD_VERIFY_LINK, 60 },
		{ "replace the genesis",
		  "UPDATE meta SET value=zeroblob(32) WHERE key='genesis'",
		  AUD_VERIFY_LINK, 1 },
		{ "truncate the tail", "DELETE FROM events WHERE seq>90",
		  AUD_VERIFY_TRUNCATED, 91 },
		{ "move the head back", "UPDATE head SET seq=95",
		  AUD_VERIFY_HEAD, 96 },
		{ "drop the head", "DELETE FROM head", AUD_VERIFY_BAD_META, 1 },
	};
	struct aud_verify_result res;
	char path[512];
	size_t k;
	int rc;

	for (k = 0; k < SPOT_ARRAY_SIZE(cases); k++) {
		db_path(path, sizeof(path), "tamper");
		if (make_log(path, 100, NULL)) {
			CHECK(0, "make log for %s", cases[k].name);
			continue;
		}
		CHECK(aud_verify(path, NULL, &res) == 0, "intact before: %s",
		      cases[k].name);
		if (tamper(path, cases[k].sql) != SQLITE_OK)
			continue;
		rc = aud_verify(path, NULL, &res);
		CHECK(rc == -EBADMSG && res.status == cases[k].status &&
			      res.first_bad == cases[k].first_bad,
		      "%s detected at %llu: %s", cases[k].name,
		      (unsigned long long)res.first_bad, res.msg);
	}
	/* Writers refuse to edit: the triggers stop casual changes. */
	db_path(path, sizeof(path), "trig");
	make_log(path, 3, NULL);
	{
		sqlite3 *db;

		sqlite3_open(path, &db);
		rc = sqlite3_exec(db, "DELETE FROM events WHERE seq=2", NULL,
				  NULL, NULL);
		sqlite3_close(db);
		CHECK(rc != SQLITE_OK, "plain DELETE refused by trigger");
	}
	/* Undetectable without a signature: cut the tail and fix the head. */
	db_path(path, sizeof(path), "cut");
	make_log(path, 100, NULL);
	tamper(path, "DELETE FROM events WHERE seq>90;"
		     "UPDATE head SET seq=90, hash=(SELECT hash FROM events"
		     " WHERE seq=90);");
	CHECK(aud_verify(path, NULL, &res) == 0,
	      "documented limit: tail cut + head edit passes without a key");
}

static void test_signatures(void)
{
	uint8_t seed[AUD_SEED_LEN], pk[AUD_PK_LEN], other[AUD_PK_LEN];
	struct aud_verify_result res;
	char path[512], key[512];
	int rc;

	snprintf(key, sizeof(key), "%s/audit.key", tmpdir);
	rc = aud_key_generate(key, pk);
	CHECK(rc == 0, "key generated");
	CHECK(aud_key_generate(key, pk) == -EEXIST, "key not overwritten");
	CHECK(aud_key_load(key, seed) == 0, "key loaded");
	CHECK(aud_key_public(seed, other) == 0 && !memcmp(pk, other, 32),
	      "public key matches");
	chmod(key, 0644);
	CHECK(aud_key_load(key, seed) == -EPERM, "readable key refused");
	chmod(key, 0600);
	randombytes_buf(other, sizeof(other));

	db_path(path, sizeof(path), "signed");
	CHECK(make_log(path, 50, seed) == 0, "signed log written");
	rc = aud_verify(path, pk, &res);
	CHECK(rc == 0 && res.head_signed, "good key: %s", res.msg);
	rc = aud_verify(path, other, &res);
	CHECK(rc == -EBADMSG && res.status == AUD_VERIFY_BAD_SIG,
	      "wrong key: %s", res.msg);
	CHECK(aud_verify(path, NULL, &res) == 0 && !res.head_signed,
	      "no key given: chain only");

	tamper(path, "DELETE FROM events WHERE seq>40;"
		     "UPDATE head SET seq=40, hash=(SELECT hash FROM events"
		     " WHERE seq=40);");
	rc = aud_verify(path, pk, &res);
	CHECK(rc == -EBADMSG && res.status == AUD_VERIFY_BAD_SIG,
	      "tail cut + head edit caught by the signature: %s", res.msg);

	db_path(path, sizeof(path), "signed");
	make_log(path, 50, seed);
	tamper(path, "DELETE FROM events WHERE seq>45");
	rc = aud_verify(path, pk, &res);
	CHECK(rc == -EBADMSG && res.status == AUD_VERIFY_TRUNCATED &&
		      res.first_bad == 46,
	      "plain truncation with signature: %s", res.msg);

	db_path(path, sizeof(path), "unsigned");
	make_log(path, 5, NULL);
	rc = aud_verify(path, pk, &res);
	CHECK(rc == -EBADMSG && res.status == AUD_VERIFY_NO_SIG,
	      "unsigned head with a key given: %s", res.msg);
	sodium_memzero(seed, sizeof(seed));
}

/* ---- failure ---- */

struct outage {
	int n;
	char detail[512];
};

static int outage_cb(const struct aud_event *ev, void *arg)
{
	struct outage *o = arg;

	if (ev->type == AUD_EV_AUDIT_ERROR) {
		o->n++;
		snprintf(o->detail, sizeof(o->detail), "%s",
			 ev->detail ? ev->detail : "");
	}
	return 0;
}

static void test_failure_locked(void)
{
	struct outage outage = { 0, "" };
	struct aud_log_opts o = { .busy_ms = 100,
				  .sandbox = "eeeeeeeeeeeeeeee" };
	struct aud_log *log = NULL;
	struct aud_event ev;
	sqlite3 *holder = NULL;
	char path[512];
	int rc;

	db_path(path, sizeof(path), "locked");
	if (aud_log_open(path, &o, &log))
		return;
	ev_open(&ev, "eeeeeeeeeeeeeeee", 0);
	CHECK(aud_log_append_sync(log, &ev) == 0 && aud_log_healthy(log),
	      "healthy before the lock");
	sqlite3_open(path, &holder);
	rc = sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	CHECK(rc == SQLITE_OK, "second connection holds the write lock");
	rc = aud_log_append_sync(log, &ev);
	CHECK(rc == -EIO, "append_sync fails while locked (%d)", rc);
	CHECK(!aud_log_healthy(log), "log is unhealthy");
	CHECK(aud_log_append(log, &ev) == -EIO, "append is -EIO");
	CHECK(aud_log_flush(log) == -EIO, "flush reports the loss");
	CHECK(aud_log_lost(log) >= 1, "lost events counted");
	aud_log_note_refusal(log);
	aud_log_note_refusal(log);
	CHECK(aud_log_retry(log) == -EIO && !aud_log_healthy(log),
	      "a retry while still locked fails");
	sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(holder);
	CHECK(aud_log_append(log, &ev) == -EIO,
	      "refused after the lock is gone until the log is retried");
	CHECK(aud_log_retry(log) == 0 && aud_log_healthy(log),
	      "the retry succeeds once the database can be written");
	CHECK(aud_log_append_sync(log, &ev) == 0, "appends work again");
	CHECK(aud_log_close(log) == -EIO, "close still reports the loss");
	CHECK(aud_query(path, "eeeeeeeeeeeeeeee", 0, outage_cb, &outage) == 0 &&
		      outage.n == 1,
	      "one audit_error record of the outage (%d)", outage.n);
	CHECK(strstr(outage.detail, "2 opens refused") != NULL,
	      "it counts the refused opens: %s", outage.detail);
	CHECK(strstr(outage.detail, "events lost") != NULL,
	      "and the lost events: %s", outage.detail);
}

/* The writer thread retries a failed log on its own. */
static void test_failure_retried(void)
{
	struct aud_log_opts o = { .busy_ms = 100 };
	struct aud_log *log = NULL;
	struct aud_event ev;
	sqlite3 *holder = NULL;
	char path[512];
	double end;

	db_path(path, sizeof(path), "retried");
	if (aud_log_open(path, &o, &log))
		return;
	ev_open(&ev, "ffffffffffffffff", 0);
	sqlite3_open(path, &holder);
	sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	CHECK(aud_log_append_sync(log, &ev) == -EIO, "fails while locked");
	sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(holder);
	end = now_s() + 10 * AUD_RETRY_MS / 1000.0;
	while (!aud_log_healthy(log) && now_s() < end)
		usleep(20 * 1000);
	CHECK(aud_log_healthy(log), "healthy again without a retry call");
	CHECK(aud_log_append_sync(log, &ev) == 0, "and appends commit");
	aud_log_close(log);
}

/* Disk full, simulated with RLIMIT_FSIZE in a child process. */
static void test_failure_full(void)
{
	struct aud_verify_result res;
	char path[512], detail[AUD_FIELD_MAX];
	int status = -1;
	pid_t pid;

	db_path(path, sizeof(path), "full");
	make_log(path, 10, NULL);
	memset(detail, 'y', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = 0;
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 256 * 1024, 256 * 1024 };
		struct aud_log *log;
		struct aud_event ev;
		int i, rc = 0;

		signal(SIGXFSZ, SIG_IGN);
		if (aud_log_open(path, NULL, &log))
			_exit(3);
		setrlimit(RLIMIT_FSIZE, &rl);
		for (i = 0; i < 2000 && !rc; i++) {
			aud_event_init(&ev, AUD_EV_OVERLAY_WRITE, "ffff");
			ev.detail = detail;
			rc = aud_log_append_sync(log, &ev);
		}
		if (rc != -EIO || aud_log_healthy(log))
			_exit(1);
		if (aud_log_append(log, &ev) != -EIO)
			_exit(2);
		aud_log_close(log);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "file size limit (disk full) -> unhealthy -> -EIO (%d)",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	CHECK(aud_verify(path, NULL, &res) == 0 && res.records > 10,
	      "chain still valid after the failed batch: %s", res.msg);
}

/* ---- concurrency ---- */

#define PROC_EVENTS 3000

static int child_append(const char *path, const char *sandbox)
{
	struct aud_log *log;
	struct aud_event ev;
	int i, rc;

	if (aud_log_open(path, NULL, &log))
		return 3;
	for (i = 0, rc = 0; i < PROC_EVENTS && !rc; i++) {
		ev_open(&ev, sandbox, i);
		rc = i % 100 == 0 ? aud_log_append_sync(log, &ev)
				  : aud_log_append(log, &ev);
	}
	rc = rc ? rc : aud_log_flush(log);
	return aud_log_close(log) || rc ? 1 : 0;
}

static int count_cb(const struct aud_event *ev, void *arg)
{
	(void)ev;
	(*(int *)arg)++;
	return 0;
}

static void test_two_processes(void)
{
	struct aud_verify_result res;
	char path[512];
	pid_t a, b;
	int sa = -1, sb = -1, na = 0, nb = 0, rc;

	db_path(path, sizeof(path), "procs");
	make_log(path, 1, NULL); /* schema exists before the race */
	a = fork();
	if (a == 0)
		_exit(child_append(path, "1111111111111111"));
	b = fork();
	if (b == 0)
		_exit(child_append(path, "2222222222222222"));
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	CHECK(WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) &&
		      WEXITSTATUS(sb) == 0,
	      "two processes appended without errors");
	rc = aud_verify(path, NULL, &res);
	CHECK(rc == 0 && res.records == 2 * PROC_EVENTS + 1,
	      "one valid chain of %llu records: %s",
	      (unsigned long long)res.records, res.msg);
	aud_query(path, "1111111111111111", 0, count_cb, &na);
	aud_query(path, "2222222222222222", 0, count_cb, &nb);
	CHECK(na == PROC_EVENTS && nb == PROC_EVENTS,
	      "each process's events present (%d, %d)", na, nb);
}

static void test_errors(void)
{
	struct aud_verify_result res;
	char path[512];

	snprintf(path, sizeof(path), "%s/missing/audit.db", tmpdir);
	CHECK(aud_verify(path, NULL, &res) < 0 && res.msg[0],
	      "verify of a missing file is an error: %s", res.msg);
	CHECK(aud_log_close(NULL) == 0, "close(NULL) is a no-op");
	CHECK(aud_type_parse("overlay_rename") == AUD_EV_OVERLAY_RENAME &&
		      aud_type_parse("nope") == AUD_EV_UNKNOWN &&
		      !strcmp(aud_type_name(AUD_EV_INTEGRITY_ERROR),
			      "integrity_error"),
	      "type names round trip");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/spotfs-aud-XXXXXX");
	if (!mkdtemp(tmpdir) || sodium_init() < 0) {
		perror("setup");
		return 1;
	}
	spot_log_set_level(SPOT_LOG_ERR);
	test_round_trip();
	test_json_escaping();
	test_long_chain();
	test_tampering();
	test_signatures();
	test_failure_locked();
	test_failure_retried();
	test_failure_full();
	test_two_processes();
	test_errors();
	if (!check_failed) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
	return check_done();
}
