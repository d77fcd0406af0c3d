#!/usr/bin/env bash
# Rewrites README.md's "A real run" section from a reference run's Markdown
# report (scripts/reference_run.sh): its summary, cache table and notes, and
# its Drift table, copied verbatim, with the run's provenance read from the
# results file. Nothing in the section is typed by hand.
# Usage: scripts/readme_real_run.sh results/<machine>/<stem>.md
set -euo pipefail
cd "$(dirname "$0")/.."
md=${1:?usage: scripts/readme_real_run.sh results/<machine>/<stem>.md}
json=${md%.md}.json
[[ -f $md && -f $json ]] || { echo "readme_real_run.sh: need $md and $json" >&2; exit 2; }
memprobe=./build/harness/memprobe
[[ -x $memprobe ]] || scripts/build.sh >/dev/null

header=$("$memprobe" report "$json" | sed -n '1,/^$/p')
field() { sed -n "s/^$1[[:space:]]*//p" <<<"$header" | head -1; }
run=$(field run)         # "2026-12-02T08:53:10Z, git 765c029"
command=$(field command)
cpu=$(field CPU)
# CPU family and model: from the directory reference_run.sh named by them.
family=$(sed -n 's/.*-fam\([0-9]*\)-model\([0-9a-fx]*\)-.*/\1/p' <<<"$md")
model=$(sed -n 's/.*-fam\([0-9]*\)-model\([0-9a-fx]*\)-.*/\2/p' <<<"$md")

# The other machine kinds' directories, named as reference_run.sh names them.
others=$(for d in results/*/; do [[ $md == "$d"* ]] || printf '`%s`, ' "$d"; done | sed 's/, $//')
others=${others:-none yet}

# The summary and cache table with their notes: from the summary table to the
# latency curve's table; then the Drift section up to its blank line after the note.
tables=$(awk '/^\| what \| measured \|/{f=1} /^\| working set \|/{exit} f' "$md")
drift=$(awk '/^Drift: /{f=1} f && /^$/{n++; if (n==2) exit} f' "$md")

section=$(cat <<END
## A real run

Copied verbatim from [$md]($md), which \`scripts/reference_run.sh\`
generated on this project's current machine kind ($cpu${family:+; CPU family $family}${model:+ model $model} as the guest reports it; run $run) with
\`$command\`, and put here by \`scripts/readme_real_run.sh\`. The file's header has the full fingerprint, the plots are next to it.
Runs of every machine kind the project has run on are kept under \`results/\` ($others) and replayed by \`CorpusTest.*\`.
Your machine's figures will differ: run it.

$tables

$drift
END
)
awk -v section="$section" '
  /^## A real run$/ { print section; print ""; skip = 1; next }
  skip && /^## / { skip = 0 }
  !skip { print }
' README.md > README.md.new
mv README.md.new README.md
echo "README.md: \"A real run\" from $md"
