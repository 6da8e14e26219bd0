// SPDX-License-Identifier: GPL-3.0-or-later
//
// Portrait Animator: a custom Flamenco 3.x job type. Copy this file into the `scripts/` folder
// next to the Flamenco Manager executable and restart the Manager; "Portrait Animator Render"
// then appears in the Flamenco add-on's job types.
//
// NOT RUN in the project's tests (no Flamenco Manager here); written against the Flamenco 3.x job
// compiler API (JOB_TYPE, compileJob(job), author.Task, author.Command, frameChunker). The same
// job as farm/portrait_render.yaml (tested with `openjd run`): chunked render tasks into one
// shared output folder, then, only when a movie is asked for, one encode task after all of them.
//
// Each task runs the extension's headless command, so the workers' Blender needs the Portrait
// Animator extension installed (4.3+):
//   blender -b SCENE --command portrait_animator render --portrait=NAME --frames A-B --output DIR
//   blender -b SCENE --command portrait_animator encode --portrait=NAME --frames A-B --input DIR
//           --output=MOVIE.mp4 --overwrite

const JOB_TYPE = {
    label: "Portrait Animator Render",
    description: "Animated portrait frames in chunks into one folder, optionally an mp4",
    settings: [
        // Set by the Flamenco add-on when submitting.
        { key: "blendfile", type: "string", required: true, visible: false,
          description: "Path of the .blend file to render" },
        { key: "blender_cmd", type: "string", default: "{blender}", visible: "submission",
          description: "The Blender executable on the Workers (default: the Manager's {blender} variable)" },
        // For the artist.
        { key: "portrait", type: "string", default: "", visible: "submission",
          description: "Portrait object name; empty renders every portrait, each into its own subfolder" },
        { key: "frames", type: "string", required: true,
          eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'",
          evalInfo: { showLinkButton: true, description: "Scene frame range" },
          description: "One frame range, like '1-120'" },
        { key: "chunk_size", type: "int32", default: 10, visible: "submission",
          description: "Frames per task; each task pays Blender's start-up once" },
        { key: "output_dir", type: "string", subtype: "dir_path", required: true,
          visible: "submission",
          description: "Folder for the PNG frames (frame_NNNN.png), shared by all tasks" },
        { key: "movie", type: "string", default: "", visible: "submission",
          description: "Optional mp4 made from the frames (relative: inside the output folder); empty = none" },
    ],
};

function compileJob(job) {
    const settings = job.settings;
    if (!/^\s*\d+\s*(-\s*\d+\s*)?$/.test(settings.frames)) {
        throw `frames must be one range like 1-120, not "${settings.frames}"`;
    }
    const renderTasks = authorRenderTasks(settings);
    for (const task of renderTasks) {
        job.addTask(task);
    }
    const encodeTask = authorEncodeTask(settings);
    if (encodeTask) {
        for (const task of renderTasks) {
            encodeTask.addDependency(task);
        }
        job.addTask(encodeTask);
    }
}

// The command-line arguments every task passes after `--command portrait_animator`.
function commonArgs(settings) {
    return [`--portrait=${settings.portrait || ""}`];
}

function authorRenderTasks(settings) {
    const tasks = [];
    for (const chunk of frameChunker(settings.frames, settings.chunk_size)) {
        // frameChunker gives "A-B" (or "A"): exactly what `render --frames` takes.
        const task = author.Task(`render-${chunk}`, "blender");
        task.addCommand(author.Command("blender-render", {
            exe: settings.blender_cmd,
            exeArgs: "-b",
            argsBefore: [],
            blendfile: settings.blendfile,
            args: ["--command", "portrait_animator", "render"].concat(commonArgs(settings), [
                "--frames", chunk,
                "--output", settings.output_dir,
            ]),
        }));
        tasks.push(task);
    }
    return tasks;
}

function authorEncodeTask(settings) {
    if (!settings.movie) {
        print("Portrait Animator: no movie asked for, no encode task");
        return null;
    }
    const task = author.Task("encode-mp4", "misc");
    task.addCommand(author.Command("exec", {
        exe: settings.blender_cmd,
        args: ["-b", settings.blendfile, "--command", "portrait_animator", "encode"].concat(
            commonArgs(settings), [
                "--frames", settings.frames.replace(/\s+/g, ""),
                "--input", settings.output_dir,
                `--output=${settings.movie}`,
                "--overwrite",
            ]),
    }));
    return task;
}
