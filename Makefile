# `make test` and `make demo` bootstrap everything from nothing (Python 3.11 + pinned wheels).
PYTHON ?= python3.11
VENV := .venv
VENV42 := .venv-bpy42
VENV_NUMPY2 := .venv-numpy2
PORTRAIT ?=

.PHONY: test test-core test-blender42 demo bench build clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV42)/.installed: requirements-bpy42.txt
	$(PYTHON) -m venv $(VENV42)
	$(VENV42)/bin/pip install -q --upgrade pip
	$(VENV42)/bin/pip install -q -r requirements-bpy42.txt
	touch $@

$(VENV_NUMPY2)/.installed: requirements-numpy2.txt
	$(PYTHON) -m venv $(VENV_NUMPY2)
	$(VENV_NUMPY2)/bin/pip install -q --upgrade pip
	$(VENV_NUMPY2)/bin/pip install -q -r requirements-numpy2.txt
	touch $@

# Everything on bpy 5.0.1 (tests/test_numpy2.py also runs the engine on numpy 2 in
# .venv-numpy2), then the Blender tests again on bpy 4.2 LTS.
test: test-core test-blender42

test-core: $(VENV)/.installed $(VENV_NUMPY2)/.installed
	$(VENV)/bin/python -m pytest tests -q

test-blender42: $(VENV42)/.installed
	$(VENV42)/bin/python -m pytest tests -q -m blender

# Headless Blender (bpy): a new scene, the portrait, the demo_talk motion keyed on the rig,
# rendered into the sequencer; out/demo.mp4 by Blender's FFmpeg output, out/demo.blend saved.
demo: $(VENV)/.installed
	mkdir -p out
	$(VENV)/bin/python -m blender_addon demo $(if $(PORTRAIT),--portrait "$(PORTRAIT)") \
		--output out/demo.mp4 --blend out/demo.blend --overwrite

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/bench_speed.py
	$(VENV)/bin/python bench/bench_quality.py

build: $(VENV)/.installed
	$(VENV)/bin/python build.py --platform all

clean:
	rm -rf out dist .pytest_cache
