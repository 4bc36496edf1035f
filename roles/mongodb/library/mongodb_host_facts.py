#!/usr/bin/python
# MIT License (see the project's LICENSE file)
"""Ansible module: read in one call what the mongodb role needs to know of a host."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mongodb_host_facts
short_description: Read what the mongodb role decides by, in one call
description:
  - Reads, without changing anything, what the mongodb role compares with what it wants: the
    free space of the filesystem that holds the data directory, dpkg's view of some packages,
    the state of some files and directories, the files matching some patterns, the state of some
    systemd units, and whether C(nft) may read the firewall.
  - One call instead of one per question: on a re-run that finds everything in place, each
    module run saved is a Python start on the host.
options:
  data_path:
    description: Path whose filesystem's free space is measured (its nearest existing parent).
    type: path
    required: true
  packages:
    description: dpkg-query patterns of the packages to report.
    type: list
    elements: str
    default: []
  paths:
    description: Files and directories to report (a regular file's SHA-1 checksum included).
    type: list
    elements: path
    default: []
  globs:
    description: Shell patterns whose matching paths are reported, sorted.
    type: list
    elements: str
    default: []
  units:
    description: systemd units whose C(ActiveState) and C(UnitFileState) are reported.
    type: list
    elements: str
    default: []
  nft:
    description: Run C(nft list tables) and report its exit status and error output.
    type: bool
    default: false
"""

RETURN = r"""
data_fs:
  description: Mount point of the filesystem that holds O(data_path), and its free MiB.
  type: dict
  returned: always
  sample: {target: /, avail_mb: 51200}
dpkg:
  description: One line per package dpkg knows of that matches O(packages) - selection, status,
    name, version (C(${db:Status-Want} ${db:Status-Status} ${Package} ${Version})).
  type: list
  elements: str
  returned: always
paths:
  description: Each of O(paths) with C(exists), and when it exists C(isdir), C(islnk), C(mode)
    (four octal digits), C(owner), C(group), C(size), C(writeable) (by this process; false on a
    read-only mount), and C(checksum) (SHA-1) for a readable regular file.
  type: dict
  returned: always
globs:
  description: Each of O(globs) with the paths that match it.
  type: dict
  returned: always
units:
  description: Each of O(units) with C(active) (ActiveState) and C(enabled) (UnitFileState).
  type: dict
  returned: always
nft:
  description: C(rc) and C(stderr) of C(nft list tables), when O(nft) is true.
  type: dict
  returned: always
"""

import glob
import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def _path(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    info = {
        "exists": True,
        "isdir": stat.S_ISDIR(st.st_mode),
        "islnk": stat.S_ISLNK(st.st_mode),
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
        "size": st.st_size,
        "writeable": os.access(path, os.W_OK),
    }
    if stat.S_ISREG(st.st_mode) and os.access(path, os.R_OK):
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        info["checksum"] = digest.hexdigest()
    return info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            data_path=dict(type="path", required=True),
            packages=dict(type="list", elements="str", default=[]),
            paths=dict(type="list", elements="path", default=[]),
            globs=dict(type="list", elements="str", default=[]),
            units=dict(type="list", elements="str", default=[]),
            nft=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params

    existing = params["data_path"]
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    fs = os.statvfs(existing)
    target = existing
    while not os.path.ismount(target):
        target = os.path.dirname(target)
    data_fs = {"target": target, "avail_mb": fs.f_bavail * fs.f_frsize // (1024 * 1024)}

    dpkg = []
    if params["packages"]:
        rc, out, err = module.run_command(
            ["dpkg-query", "--show",
             "--showformat=${db:Status-Want} ${db:Status-Status} ${Package} ${Version}\n"] + params["packages"])
        # Exit status 1: a pattern matches no package (a new host).
        if rc not in (0, 1):
            module.fail_json(msg=f"dpkg-query failed: {err.strip()}", rc=rc)
        dpkg = out.splitlines()

    units = {}
    for unit in params["units"]:
        rc, out, err = module.run_command(
            ["systemctl", "show", "--property=ActiveState", "--property=UnitFileState", unit])
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        units[unit] = {"active": values.get("ActiveState", ""), "enabled": values.get("UnitFileState", "")}

    nft = {}
    if params["nft"]:
        binary = module.get_bin_path("nft")
        if binary is None:
            nft = {"rc": 127, "stderr": "nft is not installed"}
        else:
            rc, out, err = module.run_command([binary, "list", "tables"])
            nft = {"rc": rc, "stderr": err.strip()}

    module.exit_json(
        changed=False,
        data_fs=data_fs,
        dpkg=dpkg,
        paths={path: _path(path) for path in params["paths"]},
        globs={pattern: sorted(glob.glob(pattern)) for pattern in params["globs"]},
        units=units,
        nft=nft,
    )


if __name__ == "__main__":
    main()
