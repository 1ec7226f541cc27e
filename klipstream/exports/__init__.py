"""Editor hand-offs made from the integrated analysis, the clips and the transcript (`output/exports/{vod}/`):
captions (SRT/WebVTT), vertical 9:16 clips, timelines (OpenTimelineIO, CMX 3600 EDL, Final Cut Pro 7 XML),
YouTube chapters and a CSV of the moments. See docs/exports.md."""
