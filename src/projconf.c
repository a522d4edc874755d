/* projconf.c — per-project options: parsing, what loosens the jail, trust records. Pure. */
#include "projconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

void projconf_release(struct projconf *c)
{
	strv_free(c->opts);
	c->opts = NULL;
}

/* Options a project file has no business with: they are about this invocation, not the project. */
static bool meaningless(const char *opt)
{
	static const char *const names[] = { "--help", "--version", "--no-project" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t n = strlen(names[i]);
		if (strncmp(opt, names[i], n) == 0 && (opt[n] == '\0' || opt[n] == '='))
			return true;
	}
	return opt[1] != '-' && strchr(opt, 'h');
}

/* One trimmed, non-empty, non-comment line. */
static int check_line(const char *line, const char *path, size_t lineno, struct aj_err *err)
{
	cleanup_free char *shown = util_escape(line);
	for (const char *p = line; *p; p++) {
		if (*p == ';')
			return aj_usage(err, "%s:%zu: ';' is not allowed in a project file (one option per line): %s", path,
					lineno, shown);
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return aj_usage(err, "%s:%zu: a control character in %s", path, lineno, shown);
	}
	if (line[0] != '-' || strcmp(line, "-") == 0)
		return aj_usage(err, "%s:%zu: '%s' is not an option; a project file holds options only, one per line (a "
				     "command or a verb is not allowed)",
				path, lineno, shown);
	if (strcmp(line, "--") == 0)
		return aj_usage(err, "%s:%zu: '--' is not allowed; a project file holds options only", path, lineno);
	/* The name ends at '=': a blank before it means the value was written as a second word. */
	size_t name_len = strcspn(line, "=");
	for (size_t i = 0; i < name_len; i++)
		if (isspace((unsigned char)line[i]))
			return aj_usage(err, "%s:%zu: '%s': one option per line, with its value after '=' (--fs=NAME)", path,
					lineno, shown);
	if (meaningless(line))
		return aj_usage(err, "%s:%zu: %s means nothing in a project file", path, lineno, shown);
	/* The same parser as the command line's: what it refuses there is refused here, in one line. */
	struct opts o;
	opts_init(&o);
	char *argv[] = { "ajail", (char *)line, NULL };
	int r = cli_parse(2, argv, NULL, &o, err);
	bool has_command = o.argv != NULL;
	opts_release(&o);
	if (r < 0)
		return aj_err_wrap(err, "%s:%zu", path, lineno);
	if (has_command) /* cannot happen for a word that starts with '-', but it must never run */
		return aj_usage(err, "%s:%zu: '%s' is not an option", path, lineno, shown);
	return 0;
}

int projconf_parse(const char *text, size_t len, const char *path, struct projconf *out, struct aj_err *err)
{
	out->opts = NULL;
	cleanup_strv char **opts = NULL;
	size_t lineno = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		lineno++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (memchr(p, '\0', (size_t)(le - p)))
			return aj_usage(err, "%s:%zu: a NUL byte; a project file is text", path, lineno);
		const char *s = p, *e = le;
		/* Blanks around (a '\r' of a file written on Windows among them) are not part of the option. */
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		p = nl ? nl + 1 : end;
		if (s == e || *s == '#')
			continue;
		cleanup_free char *line = xstrndup(s, (size_t)(e - s));
		if (check_line(line, path, lineno, err) < 0)
			return -1;
		strv_push(&opts, steal_pointer(&line));
	}
	out->opts = steal_pointer(&opts);
	return 0;
}

char *projconf_ajail_args(const char *env_args, const struct projconf *c)
{
	cleanup_free char *mine = strv_join(c->opts, ";");
	if (!env_args || !*env_args)
		return steal_pointer(&mine);
	if (!*mine)
		return xstrdup(env_args);
	return xasprintf("%s;%s", env_args, mine);
}

/* A directory named by --ro/--rol that is not beneath the working directory: reading it is new. */
static bool leaves_cwd(const char *dir)
{
	if (dir[0] == '/' || dir[0] == '~')
		return true;
	bool dotdot;
	cleanup_free char *rel = xasprintf("/%s", dir);
	cleanup_free char *n = path_normalize(rel, &dotdot);
	return dotdot;
}

char *projconf_loosening(const char *opt)
{
	if (opt[0] == '-' && opt[1] != '-') /* -q, -v: they change what ajail prints */
		return NULL;
	const char *name = opt + 2;
	const char *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	const char *val = eq ? eq + 1 : NULL;
	cleanup_free char *shown = val ? util_escape(val) : NULL;
#define IS(s) (n == strlen(s) && strncmp(name, (s), n) == 0)
	/* Tightening, or nothing the jail can reach. */
	if (IS("hide") || IS("no-net") || IS("lockdown") || IS("clone") || IS("clone-dirty") || IS("new-session") ||
	    IS("memory") || IS("cpus") || IS("pids") || IS("quiet") || IS("verbose") || IS("dry-run"))
		return NULL;
	if (IS("ro") || IS("rol"))
		return val && leaves_cwd(val) ? xasprintf("the jail can read %s on the host", shown) : NULL;
	/* Any rootfs is a choice of what programs the jail runs and what of the host it sees: the host's
	 * own /usr, /etc and /opt with host, or another rootfs of the store (one with an agent's files
	 * kept by --home-edit, say). */
	if (IS("fs")) {
		if (val && strchr(val, '/'))
			return xasprintf("the jail's root is the host directory %s", shown);
		if (val && strcmp(val, "host") == 0)
			return xstrdup("the jail sees the host's /usr, /etc and /opt (read-only)");
		return xasprintf("the jail runs on rootfs %s from your store, not the one you chose", shown ? shown : "?");
	}
	if (IS("net")) {
		if (val && strcmp(val, "none") == 0)
			return NULL;
		if (val && strcmp(val, "host") == 0)
			return xstrdup("the jail gets the host's network");
		return xstrdup("the jail reaches the network (through ajail's proxy)");
	}
	if (IS("rw"))
		return val ? xasprintf("the jail can change %s on the host", shown)
			   : xstrdup("the jail can change the working directory on the host");
	if (IS("mount"))
		return xstrdup("the jail sees a host path, and can change it unless the mode is ro, rol or hide");
	if (IS("dev"))
		return xasprintf("the jail can use the host's device %s", shown ? shown : "");
	if (IS("fs-edit"))
		return val ? xasprintf("the jail's changes to %s persist in the rootfs", shown)
			   : xstrdup("the jail's changes to the rootfs persist");
	if (IS("home-edit"))
		return val ? xasprintf("the jail's changes to /root/%s persist in the rootfs", shown)
			   : xstrdup("the jail's changes to /root persist in the rootfs");
	if (IS("net-log"))
		return xasprintf("ajail appends to %s on the host", shown ? shown : "a file");
	if (IS("allow-net"))
		return xasprintf("the jail can connect to %s", shown ? shown : "the hosts named");
	if (IS("publish"))
		return xasprintf("the jail's port %s is reachable on the host's 127.0.0.1", shown ? shown : "");
	if (IS("cap-add"))
		return xasprintf("the jail keeps capability %s", shown ? shown : "");
	if (IS("no-seccomp"))
		return xstrdup("turns off the system-call deny list");
	if (IS("allow-ptrace"))
		return xstrdup("the jail may ptrace (and read the memory of) its processes");
	if (IS("no-landlock"))
		return xstrdup("turns off Landlock (writes limited by mounts alone; the host's abstract sockets reachable)");
	if (IS("no-cap-drop"))
		return xstrdup("the jail keeps every capability of its user namespace");
	if (IS("no-rlimits"))
		return xstrdup("turns off the resource limits");
	if (IS("no-mask"))
		return xstrdup("turns off the masks over /proc and /sys");
	if (IS("clone-push"))
		return xstrdup("the jail can push to this repository and rewrite or delete its branches");
	if (IS("profile"))
		return xasprintf("applies the agent profile %s, with whatever it opens", shown ? shown : "");
	if (IS("no-profile"))
		return xstrdup("turns off the agent profile the command would get");
	if (IS("no-host-ca"))
		return xstrdup("changes which CA certificates the jail is given");
#undef IS
	return xstrdup("an option ajail does not classify; treat it as loosening");
}

void projconf_record_name(const char *path, char name[SHA256_HEX_LEN + 1])
{
	sha256_hex(path, strlen(path), name);
}

char *projconf_record_format(const char *path, const char *hash_hex)
{
	return xasprintf("ajail-trust 1\nsha256 %s\npath %s\n", hash_hex, path);
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < SHA256_HEX_LEN; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

int projconf_record_parse(const char *text, char **path, char hash_hex[SHA256_HEX_LEN + 1])
{
	*path = NULL;
	static const char head[] = "ajail-trust 1\nsha256 ";
	if (!str_has_prefix(text, head))
		return -1;
	const char *h = text + strlen(head);
	if (strlen(h) < SHA256_HEX_LEN || !is_hex64(h) || !str_has_prefix(h + SHA256_HEX_LEN, "\npath /"))
		return -1;
	const char *p = h + SHA256_HEX_LEN + strlen("\npath ");
	size_t n = strlen(p);
	if (n < 2 || p[n - 1] != '\n')
		return -1;
	memcpy(hash_hex, h, SHA256_HEX_LEN);
	hash_hex[SHA256_HEX_LEN] = '\0';
	*path = xstrndup(p, n - 1);
	return 0;
}

enum projconf_trust projconf_trust_state(const char *record, const char *path, const char *hash_hex)
{
	char hash[SHA256_HEX_LEN + 1];
	cleanup_free char *rpath = NULL;
	if (!record || projconf_record_parse(record, &rpath, hash) < 0 || strcmp(rpath, path) != 0)
		return PROJCONF_UNTRUSTED;
	return strcmp(hash, hash_hex) == 0 ? PROJCONF_TRUSTED : PROJCONF_CHANGED;
}
