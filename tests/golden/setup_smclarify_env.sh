#!/usr/bin/env bash
# Create the pinned virtual environment in which AWS's smclarify 0.5 runs as our
# reference (see shared/spec/smclarify-env.md): smclarify 0.5 does not work with
# numpy 2 / pandas 3, so it gets its own Python 3.11 venv with the versions below.
#
# Usage: tests/golden/setup_smclarify_env.sh
#   SMCLARIFY_VENV  where to create the venv (default: <repo>/.smclarify-venv)
#   PYTHON          interpreter used to create it (default: python3, must be 3.11)
#
# Nothing is rebuilt when the venv already imports smclarify.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SMCLARIFY_VENV:-${repo_root}/.smclarify-venv}"
python="${PYTHON:-python3}"

if [ -x "${venv}/bin/python" ] && "${venv}/bin/python" -c "import smclarify.bias.report" 2>/dev/null; then
    echo "smclarify venv already present at ${venv}"
    exit 0
fi

"${python}" -c 'import sys; assert sys.version_info[:2] == (3, 11), "smclarify venv needs Python 3.11, found " + sys.version' 

"${python}" -m venv "${venv}"
"${venv}/bin/pip" install numpy==1.26.4 pandas==1.5.3 scikit-learn==1.3.2 scipy==1.11.4 \
    pyfunctional==1.5.0 pyarrow==14.0.2 boto3 s3fs==0.4.2
"${venv}/bin/pip" install --no-deps smclarify==0.5

"${venv}/bin/python" -c "import smclarify.bias.report, pandas, numpy; print('smclarify venv ready:', pandas.__version__, numpy.__version__)"
