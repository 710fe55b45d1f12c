# Set-up, the same cell in every chapter (book/_tools/setup_cell.py; a test checks).
# In Colab: clone the book's repository, install its package with the book's extras
# (and the GPU extra on a GPU runtime) as a normal install, which this kernel imports
# at once, and work from the clone's book/ folder. Locally: nothing to install.
import importlib
import os
import subprocess
import sys

import torch  # preinstalled in Colab; the install keeps that build

REPO = os.environ.get("BOOK_REPO", "https://github.com/udrlpg-book/udrlpg-book")
IN_COLAB = "google.colab" in sys.modules
if IN_COLAB or os.environ.get("BOOK_INSTALL") == "1":  # =1: this path anywhere
    root = os.environ.get("BOOK_ROOT", "/content/udrlpg-book")
    if not os.path.isdir(root):
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPO, root], check=True)
    extras = "book,gpu" if torch.cuda.is_available() else "book"
    pip = [sys.executable, "-m", "pip", "install", "-q", f"{root}[{extras}]"]
    subprocess.run(pip, check=True)
    importlib.invalidate_caches()  # so this kernel sees the new package
    os.chdir(os.path.join(root, "book"))

# Headless rendering for the videos: EGL, else OSMesa; neither -> videos skipped.
PROBE = "import mujoco as m; m.Renderer(m.MjModel.from_xml_string('<mujoco/>'), 8, 8)"
CAN_RENDER = False
for gl in [os.environ["MUJOCO_GL"]] if "MUJOCO_GL" in os.environ else ["egl", "osmesa"]:
    env = dict(os.environ, MUJOCO_GL=gl)
    drawn = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True)
    if drawn.returncode == 0:
        os.environ["MUJOCO_GL"], CAN_RENDER = gl, True
        break
if not CAN_RENDER:
    print("No headless renderer (EGL or OSMesa) here: the videos are skipped.")

# The size of the runs follows the device: the papers' sizes on a GPU, quick on a CPU.
# QUICK=1 or QUICK=0 in the environment overrides it.
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
QUICK = os.environ.get("QUICK", "1" if DEVICE == "cpu" else "0") == "1"
print(f"IN_COLAB={IN_COLAB} DEVICE={DEVICE} QUICK={QUICK} CAN_RENDER={CAN_RENDER}")
