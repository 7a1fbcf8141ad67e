//! The processes under test (found with `e2e::binaries`): starting them (optionally pinned to
//! one CPU), waiting until they answer, reading their RSS, stopping them with SIGTERM. Also the CPU pinning of the bench's own threads and the file-descriptor limit.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::Http;

/// Which CPUs the servers and the load generator run on. With pinning (the default on a machine
/// of two or more CPUs) the server gets CPU 0 and the load generator CPU 1, so hub and floor are
/// measured under the same conditions: one core each for server and client.
#[derive(Debug, Clone, Copy)]
pub struct Cpus {
    pub server: Option<usize>,
    pub client: Option<usize>,
}

impl Cpus {
    pub fn choose(pin: bool) -> Cpus {
        let n = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        if pin && n >= 2 {
            Cpus {
                server: Some(0),
                client: Some(1),
            }
        } else {
            Cpus {
                server: None,
                client: None,
            }
        }
    }

    pub fn describe(&self) -> String {
        match (self.server, self.client) {
            (Some(s), Some(c)) => format!("server pinned to CPU {s}, load generator to CPU {c}"),
            _ => "not pinned".into(),
        }
    }
}

/// Pins the calling thread to one CPU.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    set_affinity(cpu)
}

fn set_affinity(cpu: usize) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is its empty set, and sched_setaffinity only reads
    // it. Pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes the calling (coordinator) thread real-time (SCHED_FIFO, priority 1), so that it runs
/// the moment a response it waits for arrives, even while both CPUs are busy fanning out: the
/// time it measures is then the server's, not the wait for a CPU. Threads and processes it
/// creates afterwards do not inherit this (SCHED_RESET_ON_FORK). False if not permitted.
pub fn realtime_current_thread() -> bool {
    const SCHED_RESET_ON_FORK: libc::c_int = 0x4000_0000;
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: sets the policy of the calling thread (pid 0) from a parameter struct we own.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO | SCHED_RESET_ON_FORK, &param) == 0 }
}

/// Raises the soft limit of open files to the hard one (10,000 sockets need it); returns it.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        lim.rlim_cur
    }
}

/// Raises the open-file limit to at least `want` (the hard limit too, which needs root or
/// CAP_SYS_RESOURCE); processes started afterwards inherit it. Without the permission it
/// raises the soft limit as far as the hard one allows. Returns the soft limit now in force.
pub fn raise_fd_limit_to(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur >= want {
            return lim.rlim_cur;
        }
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: lim.rlim_max.max(want),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return want;
        }
    }
    raise_fd_limit()
}

/// VmRSS of the bench process itself, in bytes.
pub fn own_rss() -> Result<u64> {
    vm_rss("/proc/self/status")
}

/// CPU time (user + system, all threads) of the bench process itself so far.
pub fn own_cpu_time() -> Result<Duration> {
    cpu_time("/proc/self/stat")
}

/// User + system CPU time from a `/proc/…/stat` file.
fn cpu_time(path: &str) -> Result<Duration> {
    let stat = std::fs::read_to_string(path)?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("odd /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ")".
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / per_second))
}

fn vm_rss(status: &str) -> Result<u64> {
    let status = std::fs::read_to_string(status)?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS line")?;
    Ok(kb * 1024)
}

/// A child process under test. Dropping it kills it.
pub struct Proc {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `program args…` with stdout and stderr going to `log`, pinned to `cpu` if given.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        log: PathBuf,
        cpu: Option<usize>,
    ) -> Result<Proc> {
        let out =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        // SAFETY: the closure only makes async-signal-safe system calls (prctl, and
        // sched_setaffinity when pinning).
        unsafe {
            cmd.pre_exec(move || {
                // Ends the child if the bench dies without cleaning up (SIGKILL, a crash).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                match cpu {
                    Some(cpu) => set_affinity(cpu),
                    None => Ok(()),
                }
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("start {}", program.display()))?;
        Ok(Proc {
            name: name.into(),
            child,
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits (at most `limit`) until `GET path` on `addr` answers 200.
    pub fn wait_http(&mut self, addr: SocketAddr, path: &str, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        let mut http = Http::new(addr)?;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("{} exited with {status}:\n{}", self.name, self.log_tail());
            }
            if let Ok(r) = http.get(path)
                && r.status == 200
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "{} did not answer {path} within {limit:?}:\n{}",
            self.name,
            self.log_tail()
        )
    }

    /// VmRSS from /proc/PID/status, in bytes.
    pub fn rss(&self) -> Result<u64> {
        vm_rss(&format!("/proc/{}/status", self.pid()))
    }

    /// Its soft open-file limit, from /proc/PID/limits.
    pub fn open_file_limit(&self) -> Result<u64> {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid()))?;
        limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no \"Max open files\" line")
    }

    /// CPU time (user + system, all threads) the process has used so far.
    pub fn cpu_time(&self) -> Result<Duration> {
        cpu_time(&format!("/proc/{}/stat", self.pid()))
    }

    /// Open file descriptors, from /proc/PID/fd.
    pub fn open_files(&self) -> Result<u64> {
        let dir = std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .with_context(|| format!("reading the open files of {}", self.name))?;
        Ok(dir.count() as u64)
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signalling our own child by its pid.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.terminate();
    }
}
