// Preloaded (`node --import`) into a Node process that leads a process group of its own (spawned
// `detached`, such as wrangler): once the process that started it is gone, by whatever end (a
// crash, SIGKILL), the whole group goes too, the workerd processes wrangler started included.
// Node cannot set PR_SET_PDEATHSIG: the parent's pid is polled (it changes when init adopts us).
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  try {
    // Nobody is left to wait for a graceful stop.
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(1);
  }
}, 200);
watch.unref();
