//! A real single-node Slurm for the end-to-end tests: a munge key, a
//! minimal `slurm.conf` for this machine (host name, CPUs, memory) and
//! `munged`, `slurmctld` and `slurmd` started in the foreground inside a
//! temporary folder, on their own ports and socket, so nothing of the
//! machine's own Slurm (if any) is touched. The guard cancels the
//! cluster's jobs and stops the daemons when dropped, also when a test
//! fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The programs a cluster needs.
const PROGRAMS: [&str; 8] = [
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scontrol",
    "scancel",
    "sinfo",
];

/// Where program `name` is: on PATH, or in an sbin folder (the daemons
/// live in /usr/sbin, which a non-login PATH may lack).
fn locate(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn program(name: &str) -> PathBuf {
    locate(name).unwrap_or_else(|| PathBuf::from(name))
}

/// Whether this machine can run the cluster; when it cannot, fails the
/// test if `NASARENA_REQUIRE_SLURM=1` (CI) and otherwise prints why the
/// test is skipped.
pub fn available(test: &str) -> bool {
    let missing: Vec<&str> = PROGRAMS
        .into_iter()
        .filter(|p| locate(p).is_none())
        .collect();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let problem = if !missing.is_empty() {
        format!(
            "{} not found (apt-get install slurm-wlm munge)",
            missing.join(", ")
        )
    } else if !root {
        "slurmd must run as root".to_string()
    } else {
        return true;
    };
    if std::env::var("NASARENA_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
        panic!("{test}: NASARENA_REQUIRE_SLURM=1 but {problem}");
    }
    eprintln!("{test}: skipped: {problem}");
    false
}

/// A running single-node cluster.
pub struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<(&'static str, Child)>,
}

fn text(cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("sh runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Total memory in MB, from /proc/meminfo, leaving room for the system.
fn memory_mb() -> u64 {
    let kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .expect("meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("MemTotal");
    kb / 1024 / 2
}

impl Cluster {
    /// Writes the configuration into `dir` and starts the daemons; waits
    /// until the node accepts jobs.
    pub fn start(dir: &Path) -> Cluster {
        let munge = dir.join("munge");
        for d in [
            &munge,
            &dir.join("state"),
            &dir.join("spool"),
            &dir.join("log"),
        ] {
            std::fs::create_dir_all(d).expect("cluster folders");
        }
        let key = munge.join("munge.key");
        let mut bytes = vec![0u8; 128];
        std::io::Read::read_exact(
            &mut std::fs::File::open("/dev/urandom").expect("urandom"),
            &mut bytes,
        )
        .expect("key bytes");
        std::fs::write(&key, &bytes).expect("munge key");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o400))
            .expect("key mode");
        let host = text("hostname -s");
        let cpus = text("nproc");
        let socket = munge.join("munge.socket");
        let d = dir.display();
        let conf = dir.join("slurm.conf");
        // Ports away from Slurm's defaults, so a system Slurm can coexist.
        let port = 17000 + std::process::id() % 2000 * 2;
        std::fs::write(
            &conf,
            format!(
                "ClusterName=nasarena-test
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
AuthInfo=socket={socket}
SlurmctldPort={port}
SlurmdPort={}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName={host} CPUs={cpus} RealMemory={}
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
",
                port + 1,
                memory_mb(),
                socket = socket.display(),
            ),
        )
        .expect("slurm.conf");
        let mut cluster = Cluster {
            dir: dir.to_path_buf(),
            conf,
            daemons: Vec::new(),
        };
        cluster.spawn(
            "munged",
            &[
                "--foreground",
                "--force",
                &format!("--socket={}", socket.display()),
                &format!("--key-file={}", key.display()),
                &format!("--pid-file={}/munged.pid", munge.display()),
                &format!("--log-file={}/munged.log", munge.display()),
                &format!("--seed-file={}/munged.seed", munge.display()),
            ],
        );
        cluster.wait_for(|| socket.exists(), "munged's socket");
        cluster.spawn("slurmctld", &["-D", "-i"]);
        cluster.spawn("slurmd", &["-D"]);
        let conf = cluster.conf.clone();
        cluster.wait_for(
            || {
                let out = Command::new(program("sinfo"))
                    .args(["--noheader", "--format=%t"])
                    .env("SLURM_CONF", &conf)
                    .output();
                out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
            },
            "the node to become idle",
        );
        cluster
    }

    fn spawn(&mut self, name: &'static str, args: &[&str]) {
        let log = std::fs::File::create(self.dir.join("log").join(format!("{name}.out")))
            .expect("daemon log");
        let child = Command::new(program(name))
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.daemons.push((name, child));
    }

    fn wait_for(&mut self, mut ready: impl FnMut() -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() {
            for (name, child) in &mut self.daemons {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{name} exited ({status}) while waiting for {what}; logs in {}",
                        self.dir.display()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; logs in {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The `slurm.conf` (pass it as `SLURM_CONF` to client programs).
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// Runs a Slurm client program against this cluster.
    pub fn command(&self, name: &str, args: &[&str]) -> Output {
        Command::new(program(name))
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .output()
            .unwrap_or_else(|e| panic!("running {name}: {e}"))
    }

    /// `scontrol show job ID` as text.
    pub fn show_job(&self, id: &str) -> String {
        let out = self.command("scontrol", &["show", "job", id]);
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Waits until the node has finished cleaning up after its jobs (its
    /// state is `idle`, no longer `comp`leting).
    pub fn wait_for_idle_node(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.command("sinfo", &["--noheader", "--format=%t"]);
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if state == "idle" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node still `{state}` after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until no job of the cluster is queued.
    pub fn wait_until_idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.command("squeue", &["--noheader", "--format=%i %T"]);
            assert!(out.status.success(), "squeue failed: {out:?}");
            let queue = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if queue.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "jobs still queued after {limit:?}:\n{queue}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Cancel what is left, give the step daemons a moment, then stop
        // the daemons this guard started, newest first.
        let user = text("id -un");
        let _ = self.command("scancel", &[&format!("--user={user}")]);
        std::thread::sleep(Duration::from_millis(500));
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
