# git inside the jail on the user's repository neither rehashes nor rewrites the index.
. "$(dirname "$0")/libtest.sh"
command -v git >/dev/null || fail "git is not installed (make deps installs it)"
repo="$T/repo"
mkdir -p "$repo"
cd "$repo"
git init -q . && git config user.email t@e && git config user.name t
for i in $(seq 200); do echo "$i" > "f$i"; done
git add -A && git commit -qm init
git status --porcelain >/dev/null
sleep 1 # the index must not be racily clean
git status --porcelain >/dev/null
sum() { sha256sum .git/index | cut -d' ' -f1; stat -c %Y .git/index; }
before=$(sum)
jail --fs=host -q git status --porcelain
assert_rc 0 "git status inside"
assert_eq "$out" "" "the tree is clean inside"
assert_eq "$(sum)" "$before" "git inside did not rewrite the index"
jail --fs=host -q sh -c 'echo change >> f1 && git commit -qam inside && git log --oneline | wc -l'
assert_eq "$out" "2" "git commit works inside"
assert_eq "$(git log --oneline | wc -l)" "2" "the commit is in the host's repository"
