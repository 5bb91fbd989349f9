"""Reads a zip with Python's zipfile, an implementation that is not ours, and checks it against
the folder it was made from. Usage: zip_check.py ZIP FOLDER. Prints the entries as JSON, then
'N passed, M failed'; exits 1 on a failure."""

import json
import os
import sys
import zipfile
import zlib

path, folder = sys.argv[1], sys.argv[2]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    if not ok:
        print("FAIL " + name + ": " + str(detail))


with zipfile.ZipFile(path) as z:
    check("testzip finds no bad CRC", z.testzip() is None)
    infos = z.infolist()
    print(json.dumps([i.filename for i in infos]))
    for i in infos:
        check(i.filename + ": fixed time", i.date_time == (1980, 1, 1, 0, 0, 0), i.date_time)
        check(i.filename + ": no ./ and forward slashes", not i.filename.startswith("./") and "\\" not in i.filename)
        mode = (i.external_attr >> 16) & 0o777
        if i.is_dir():
            check(i.filename + ": folder mode", mode == 0o755, oct(mode))
            continue
        check(i.filename + ": file mode", mode == 0o644, oct(mode))
        check(i.filename + ": deflated", i.compress_type == zipfile.ZIP_DEFLATED, i.compress_type)
        with open(os.path.join(folder, i.filename), "rb") as f:
            data = f.read()
        check(i.filename + ": size", i.file_size == len(data), (i.file_size, len(data)))
        check(i.filename + ": CRC", i.CRC == (zlib.crc32(data) & 0xFFFFFFFF))
        check(i.filename + ": content", z.read(i) == data)

passed = sum(results)
print("%d passed, %d failed" % (passed, len(results) - passed))
sys.exit(0 if all(results) else 1)
