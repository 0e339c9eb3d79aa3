"""count.py: mutants, killed and share per measured module and label, from results/*.cache."""
import glob, os, sqlite3
for path in sorted(glob.glob("/tmp/mutation32/results/*.cache")):
    name, label = os.path.basename(path).rsplit(".", 2)[:2]
    rows = dict(sqlite3.connect(path).execute("select status, count(*) from Mutant group by status").fetchall())
    total = sum(rows.values())
    killed = rows.get("ok_killed", 0) + rows.get("bad_timeout", 0) + rows.get("ok_suspicious", 0)
    print(f"{name:16} {label:7} mutants {total:4}  killed {killed:4}  share {killed / total:6.1%}  {rows}")
