// Browsers need this directive before subgroup functions; wgpu's native WGSL front end (naga) enables
// them with the device feature instead and rejects the directive, so only the browser build has it.
enable subgroups;
