# fish completion for ajail. Installed by `make install` as
# $(DATADIR)/fish/vendor_completions.d/ajail.fish.
#
# The option list mirrors optdefs[] in src/cli.c and the capability list mirrors cap_names[]; keep them in
# step. A verb (fs, clone, state, doctor, trust) is a verb only as the very first word, as cli_parse() decides;
# `ajail -q fs` and `ajail -- fs` run a program named fs.

function __ajail_store
    if set -q AJAIL_HOME[1]; and test -n "$AJAIL_HOME"
        echo $AJAIL_HOME
    else
        echo $HOME/.ajail
    end
end

# Directories in $argv[1] whose names do not start with '.' (fish's * skips those).
function __ajail_subdirs
    for d in $argv[1]/*/
        string replace -r '.*/([^/]+)/$' '$1' -- $d
    end
end

function __ajail_rootfs_names
    __ajail_subdirs (__ajail_store)/fs
end

# Paths (directories end in '/') completing $argv[1]: fish's own file completion, borrowed by asking
# for the arguments of a command that has no completions.
function __ajail_paths
    complete -C"__ajail_no_such_command_ $argv[1]"
end

# Profile names: the shipped ones (share/profiles, built into ajail), then the user's own (files in
# ${XDG_CONFIG_HOME:-~/.config}/ajail/profiles; fish's * skips names starting with '.').
function __ajail_profile_names
    printf '%s\tshipped profile\n' aider claude codex gemini opencode
    set -l d $HOME/.config/ajail/profiles
    string match -q -- '/*' "$XDG_CONFIG_HOME"; and set d $XDG_CONFIG_HOME/ajail/profiles
    for f in $d/*
        test -d $f; and continue
        printf '%s\tyour profile\n' (string replace -r '.*/' '' -- $f)
    end
end

function __ajail_recipes
    set -l dirs ./rootfs-recipes
    set -l self (command -s ajail)
    set -q self[1]; and set -a dirs (string replace -r '/[^/]*$' '' -- $self)/../share/ajail/rootfs-recipes
    set -a dirs /usr/local/share/ajail/rootfs-recipes /usr/share/ajail/rootfs-recipes
    for d in $dirs
        for f in $d/*
            string replace -r '.*/' '' -- $f
        end
    end | string match -v -r '^README' | sort -u
end

set -g __ajail_caps CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP \
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE \
    SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME \
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG \
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE

# Values of option $argv[1] (without "--") completing $argv[2]; each printed with prefix $argv[3].
function __ajail_values -a opt value prefix
    switch $opt
        case fs
            if string match -q -r '^[/.~]' -- $value
                __ajail_paths $value | string match -r '.*/$'
            else
                __ajail_rootfs_names
                printf '%s\t%s\n' host "the host's /usr /bin /lib* /sbin /etc /opt, read-only"
            end
        case fs-edit
            # a directory inside the rootfs named by the last --fs, when it is in the store
            set -l name
            set -l toks (commandline -opc)
            for i in (seq 2 (count $toks))
                switch $toks[$i]
                    case '--fs=*'
                        set name (string replace -- --fs= '' $toks[$i])
                    case --fs
                        set -q toks[(math $i + 1)]; and set name $toks[(math $i + 1)]
                end
            end
            set -l root (__ajail_store)/fs/$name
            if test -n "$name"; and not string match -q -- '*/*' $name; and test -d $root
                test -n "$value"; or set value /
                __ajail_paths $root$value | string match -r '.*/$' | string replace -- $root ''
            end
        case ro rol rw hide
            __ajail_paths $value | string match -r '.*/$'
        case mount # SRC,DST[,MODE]
            set -l parts (string split , -- $value)
            switch (count $parts)
                case 1
                    # a directory goes on with '/', anything else with ",DST"
                    __ajail_paths $value | string replace -r '^([^\t]*[^/\t])(\t.*)?$' '$1,$2'
                case 2
                    __ajail_paths $parts[2] | string replace -r '^' -- "$parts[1],"
                case '*'
                    printf "$parts[1],$parts[2],%s\n" ro rol rw hide dev
            end
        case dev
            set -l dev (string replace -r '^/dev/' '' -- $value)
            __ajail_paths /dev/$dev | string replace -r '^/dev/' ''
        case cap-add
            printf '%s\n' $__ajail_caps
        case profile
            __ajail_profile_names
        case clone
            git for-each-ref --format='%(refname:short)' refs/heads 2>/dev/null
    end | string replace -r '^' -- "$prefix"
end

# Prints the words of the command to run (from the first word that is not an option, or the word after
# "--") up to the one before the cursor; fails while the cursor is still among ajail's own options.
function __ajail_cmd_words
    set -l toks (commandline -opc)
    set -e toks[1]
    set -q toks[1]; and contains -- $toks[1] fs clone state doctor trust; and return 1
    set -l n (count $toks)
    set -l i 1
    while test $i -le $n
        set -l t $toks[$i]
        if test "$t" = --
            set -q toks[(math $i + 1)]; or return 0 # the cursor's word is the command
            printf '%s\n' $toks[(math $i + 1)..-1]
            return 0
        else if contains -- $t --fs --commit --mount --dev --cap-add --profile --net --allow-net --publish --net-log --memory --cpus --pids
            set i (math $i + 2)
        else if string match -q -- '-?*' $t
            set i (math $i + 1)
        else
            printf '%s\n' $toks[$i..-1]
            return 0
        end
    end
    return 1
end

function __ajail_in_opts
    set -l toks (commandline -opc)
    if set -q toks[2]; and contains -- $toks[2] fs clone state doctor trust
        return 1
    end
    not __ajail_cmd_words >/dev/null
end

# In the options, at a word that could start the command (not an option, not an option's value).
function __ajail_at_cmd
    __ajail_in_opts; or return 1
    string match -q -- '-*' (commandline -ct); and return 1
    set -l prev (commandline -opc)[-1]
    not contains -- $prev --fs --commit --mount --dev --cap-add --profile --net --allow-net --publish --net-log --memory --cpus --pids
end

# The command and its arguments, completed as if typed on their own.
function __ajail_complete_cmd
    set -l words (__ajail_cmd_words)
    set -l cur (commandline -ct)
    if set -q words[1]
        complete -C (string join ' ' -- (string escape -- $words) $cur)
    else
        complete -C "$cur"
    end
end

# The value of an option with an optional "=VALUE" (--ro=DIR): fish has no optional-argument options.
function __ajail_optional_value
    set -l cur (commandline -ct)
    set -l m (string match -r -- '^--(fs-edit|home-edit|ro|rol|rw|hide|clone)=(.*)$' $cur)
    or return 1
    __ajail_values $m[2] $m[3] "--$m[2]="
end

function __ajail_verb_args -a verb sub
    set -l toks (commandline -opc)
    test (count $toks) -ge 3; and test "$toks[2]" = $verb; and test "$toks[3]" = $sub; or return 1
    set -q argv[3]; or return 0
    test (math (count $toks) - 2) -eq $argv[3]
end

# The cursor is on the first word after ajail (where a verb may stand).
function __ajail_first_word
    test (count (commandline -opc)) -eq 1
end

# The cursor is on the word right after verb $argv[1] (the verb being the first word).
function __ajail_verb_sub -a verb
    set -l toks (commandline -opc)
    test (count $toks) -eq 2; and test "$toks[2]" = $verb
end

complete -c ajail -f

# Verbs: only as the first word.
complete -c ajail -n '__ajail_first_word' -a fs -d 'Manage rootfses (import, list, rm, build, cp, export)'
complete -c ajail -n '__ajail_first_word' -a clone -d 'Manage clone workspaces (list, show, rm, gc, sync)'
complete -c ajail -n '__ajail_first_word' -a state -d "Manage agents' state (list, rm, path)"
complete -c ajail -n '__ajail_first_word' -a doctor -d 'Check what this kernel and machine allow'
complete -c ajail -n '__ajail_first_word' -a trust -d "Trust (revoke, list) a repository's .ajail.conf"

complete -c ajail -n '__ajail_verb_sub fs' -a import -d 'Import a rootfs from a tarball'
complete -c ajail -n '__ajail_verb_sub fs' -a list -d 'List the rootfses in the store'
complete -c ajail -n '__ajail_verb_sub fs' -a rm -d 'Remove rootfses'
complete -c ajail -n '__ajail_verb_sub fs' -a build -d 'Build a rootfs from a recipe'
complete -c ajail -n '__ajail_verb_sub fs' -a cp -d 'Copy a rootfs'
complete -c ajail -n '__ajail_verb_sub fs' -a export -d 'Write a rootfs to a tarball or an OCI image, or print a Kubernetes Job'
complete -c ajail -n '__ajail_verb_args fs rm' -a '(__ajail_rootfs_names)'
complete -c ajail -n '__ajail_verb_args fs cp 1' -a '(__ajail_rootfs_names)'
complete -c ajail -n '__ajail_verb_args fs export 1' -a '(__ajail_rootfs_names)'
complete -c ajail -n '__ajail_verb_args fs build 1' -a '(__ajail_recipes)'
complete -c ajail -n '__ajail_verb_args fs build' -s p -l packages -x -d "Add packages to the recipe's own (PKG,...)"
complete -c ajail -n '__ajail_verb_args fs build' -l base -x -a '(__ajail_rootfs_names)' -d 'Build a layer on this rootfs of the store'
complete -c ajail -n '__ajail_verb_args fs build' -s v -l verbose -d "Show the builder's output as it runs"
complete -c ajail -n '__ajail_verb_args fs build' -s q -l quiet -d 'No progress line or summary'
complete -c ajail -n '__ajail_verb_args fs build' -l list -d 'The recipes there are'
complete -c ajail -n '__ajail_verb_args fs import 2' -F
complete -c ajail -n '__ajail_verb_args fs export 2' -F
complete -c ajail -n '__ajail_verb_args fs export' -l oci -d 'Write an OCI image archive'
complete -c ajail -n '__ajail_verb_args fs export' -l tag -x -d "The image's tag, or its whole name (--oci)"
complete -c ajail -n '__ajail_verb_args fs export' -l k8s-job -d 'Print a Kubernetes Job for the image'
complete -c ajail -n '__ajail_verb_args fs export' -l image -x -d 'The image the Job runs (--k8s-job)'
complete -c ajail -n '__ajail_verb_args fs export' -s q -l quiet -d 'No progress bar or summary line'

complete -c ajail -n '__ajail_verb_sub clone' -a list -d 'List clone workspaces'
complete -c ajail -n '__ajail_verb_sub clone' -a show -d 'Show a clone workspace'
complete -c ajail -n '__ajail_verb_sub clone' -a rm -d 'Remove clone workspaces'
complete -c ajail -n '__ajail_verb_sub clone' -a gc -d 'Remove what no workspace uses'
complete -c ajail -n '__ajail_verb_sub clone' -a sync -d 'Bring a workspace up to date'

complete -c ajail -n '__ajail_verb_sub state' -a list -d "List agents' state"
complete -c ajail -n '__ajail_verb_sub state' -a rm -d "Remove an agent's state"
complete -c ajail -n '__ajail_verb_sub state' -a path -d "Where an agent's state is kept"
complete -c ajail -n '__ajail_verb_sub state' -s h -l help -d 'Show help'
complete -c ajail -n '__ajail_verb_args state list' -l json -d 'JSON'
complete -c ajail -n '__ajail_verb_args state rm' -a '(__ajail_subdirs (__ajail_store)/state)'
complete -c ajail -n '__ajail_verb_args state path 1' -a '(__ajail_subdirs (__ajail_store)/state)'

# ajail trust [--yes|--revoke|--list [--json]] [DIR]
function __ajail_trust_args
    set -l toks (commandline -opc)
    test (count $toks) -ge 2; and test "$toks[2]" = trust
end
complete -c ajail -n __ajail_trust_args -l yes -d 'Trust without asking'
complete -c ajail -n __ajail_trust_args -l revoke -d 'Forget the trust'
complete -c ajail -n __ajail_trust_args -l list -d 'Every trusted project file and its state'
complete -c ajail -n __ajail_trust_args -l json -d 'With --list: JSON'
complete -c ajail -n __ajail_trust_args -s h -l help -d 'Show help'
complete -c ajail -n __ajail_trust_args -a '(__fish_complete_directories)'
for sub in show rm sync
    complete -c ajail -n "__ajail_verb_args clone $sub" -a '(__ajail_subdirs (__ajail_store)/clone)'
end

# Options. The ones that take a value take it after '=' or as the next word.
complete -c ajail -n __ajail_in_opts -l fs -x -a '(__ajail_values fs (commandline -ct | string replace -r "^--fs=" ""))' -d 'Rootfs: a name from the store, a path, or host'
complete -c ajail -n __ajail_in_opts -l mount -x -a '(__ajail_values mount (commandline -ct | string replace -r "^--mount=" ""))' -d 'Mount host SRC at DST: SRC,DST[,ro|rol|rw|hide|dev]'
complete -c ajail -n __ajail_in_opts -l dev -x -a '(__ajail_values dev (commandline -ct | string replace -r "^--dev=" ""))' -d 'Make host /dev/DEV available'
complete -c ajail -n __ajail_in_opts -l cap-add -x -a '(__ajail_values cap-add "")' -d 'Keep a capability; all others are dropped'
complete -c ajail -n __ajail_in_opts -l profile -x -a '(__ajail_values profile "")' -d 'Apply agent profile NAME'
complete -c ajail -n __ajail_in_opts -l commit -x -d "On success, keep the session's root changes as a new rootfs NAME (a layer)"
# "--ro" alone means the working directory; "--ro=DIR" names one (completed below).
complete -c ajail -n __ajail_in_opts -l fs-edit -d 'Keep changes to the rootfs (--fs-edit=/DIR: just DIR)'
complete -c ajail -n __ajail_in_opts -l home-edit -d 'Keep changes to /root (--home-edit=SUBDIR: just that)'
complete -c ajail -n __ajail_in_opts -l ro -d 'Overlay DIR: writable inside, changes never reach the host'
complete -c ajail -n __ajail_in_opts -l rol -d 'Read-only bind of DIR'
complete -c ajail -n __ajail_in_opts -l rw -d 'Read-write bind of DIR: changes reach the host'
complete -c ajail -n __ajail_in_opts -l hide -d 'Replace DIR with an empty directory'
complete -c ajail -n __ajail_in_opts -l clone -d 'Run in a clone workspace of this repository'
complete -c ajail -n '__ajail_in_opts; and string match -q -r -- "^-[^=]*\$" (commandline -ct)' \
    -a '--fs-edit= --home-edit= --ro= --rol= --rw= --hide= --clone=' -d 'Option with a value'
complete -c ajail -n '__ajail_in_opts; and __ajail_optional_value >/dev/null' -a '(__ajail_optional_value)'
complete -c ajail -n __ajail_in_opts -l no-net -d 'No network: a new network namespace with only lo'
complete -c ajail -n __ajail_in_opts -l net -x -a 'host none allow' -d "The network: the host's, none, or only what is allowed"
complete -c ajail -n __ajail_in_opts -l allow-net -x -a '@claude @codex @gemini @opencode @aider @npm @pypi @github @debian @alpine @rust @go' -d "Only through ajail's filtering proxy: PATTERN[,PATTERN...]"
complete -c ajail -n __ajail_in_opts -l publish -x -d "The jail's PORT at the host's 127.0.0.1:HOSTPORT"
complete -c ajail -n __ajail_in_opts -l net-log -r -F -d 'One JSON line per connection through the proxy'
complete -c ajail -n __ajail_in_opts -l no-profile -d 'No agent profile'
complete -c ajail -n __ajail_in_opts -l no-host-ca -d "Do not hand the host's CA bundle to the jail"
complete -c ajail -n __ajail_in_opts -l clone-dirty -d "Carry uncommitted changes into the clone"
complete -c ajail -n __ajail_in_opts -l clone-push -d "Let the clone push to origin"
complete -c ajail -n __ajail_in_opts -l new-session -d "Always detach from the terminal's session"
complete -c ajail -n __ajail_in_opts -l lockdown -d 'Read-only cwd, no network, empty home, tightest limits'
complete -c ajail -n __ajail_in_opts -l memory -x -d 'Memory limit, e.g. 4G (cgroup v2)'
complete -c ajail -n __ajail_in_opts -l cpus -x -d 'CPU limit, e.g. 1.5 (cgroup v2)'
complete -c ajail -n __ajail_in_opts -l pids -x -d 'Process and thread limit'
complete -c ajail -n __ajail_in_opts -l no-cap-drop -d "Keep the capabilities of the jail's user namespace"
complete -c ajail -n __ajail_in_opts -l no-seccomp -d 'No system-call deny list'
complete -c ajail -n __ajail_in_opts -l allow-ptrace -d 'Let ptrace and process_vm_* through the deny list'
complete -c ajail -n __ajail_in_opts -l no-landlock -d 'No landlock'
complete -c ajail -n __ajail_in_opts -l no-rlimits -d "No resource limits beyond the caller's"
complete -c ajail -n __ajail_in_opts -l no-mask -d 'No masks over /proc and /sys'
complete -c ajail -n __ajail_in_opts -l no-project -d "Do not read the repository's .ajail.conf"
complete -c ajail -n __ajail_in_opts -s q -l quiet -d 'No status block'
complete -c ajail -n __ajail_in_opts -s v -l verbose -d 'Explain each decision'
complete -c ajail -n __ajail_in_opts -l dry-run -d 'Print the plan and run nothing'
complete -c ajail -n __ajail_in_opts -s h -l help -d 'Show help'
complete -c ajail -n __ajail_in_opts -s V -l version -d 'Show the version'

# The command to run, then its own arguments.
complete -c ajail -n __ajail_at_cmd -a '(__fish_complete_command)'
complete -c ajail -n '__ajail_cmd_words >/dev/null' -a '(__ajail_complete_cmd)'
