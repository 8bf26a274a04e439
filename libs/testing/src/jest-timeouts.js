// Integration and end-to-end files (and unit files that boot the embedded mode) talk to real processes on a machine
// of two cores that other work shares: a hook that drops a database or stops a service may take more than Jest's
// default 5 s without anything being wrong. Every test and hook there may take up to a minute (a file that needs more
// sets its own); each still ends as soon as its condition holds, so a fast machine loses nothing.
jest.setTimeout(60_000);
