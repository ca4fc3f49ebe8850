//! The connection to the daemon: connect, start the daemon when it is not running (saying so
//! on stderr), and check protocol versions before anything else.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mentor_shared::paths::Dirs;
use mentor_shared::protocol::{ClientHello, ServerHello};
use mentor_shared::service::MentorClient;
use mentor_shared::{i18n, t, wire, ApiError, PROTOCOL_VERSION};
use tarpc::context;
use tokio::net::UnixStream;

use crate::error::CliError;

/// `mentord`'s exit code when another daemon holds the lock.
const LOCK_CONFLICT_EXIT: i32 = mentor_shared::paths::EXIT_ALREADY_RUNNING;

/// How long a freshly started daemon may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A connected, version-checked client.
#[derive(Clone)]
pub struct Client {
    /// The RPC stub.
    pub rpc: MentorClient,
    /// What the daemon said at the handshake.
    pub server: ServerHello,
}

/// A request context that allows `secs` seconds.
pub fn ctx(secs: u64) -> context::Context {
    let mut c = context::current();
    c.deadline = Instant::now() + Duration::from_secs(secs);
    c
}

/// Flattens the transport error and the daemon's answer into one result.
pub fn answer<T>(r: Result<Result<T, ApiError>, tarpc::client::RpcError>) -> Result<T, CliError> {
    match r {
        Ok(inner) => inner.map_err(CliError::Api),
        Err(e) => Err(CliError::Connection(e.to_string())),
    }
}

enum Attempt {
    Connected(UnixStream),
    NotRunning,
}

async fn try_connect(dirs: &Dirs) -> Result<Attempt, CliError> {
    let socket = dirs.socket();
    match UnixStream::connect(&socket).await {
        Ok(s) => Ok(Attempt::Connected(s)),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            Ok(Attempt::NotRunning)
        }
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(CliError::SocketPermission {
            path: socket.display().to_string(),
        }),
        Err(e) => Err(CliError::Io {
            path: socket.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

async fn handshake(stream: UnixStream) -> Result<Client, CliError> {
    let transport = wire::transport(stream, wire::DEFAULT_MAX_FRAME);
    let rpc = MentorClient::new(tarpc::client::Config::default(), transport).spawn();
    let hello = ClientHello {
        protocol: PROTOCOL_VERSION,
        client_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let server = answer(rpc.hello(ctx(10), hello).await)?;
    Ok(Client { rpc, server })
}

/// Connects to a running daemon; `None` when none runs.
pub async fn connect_existing(dirs: &Dirs) -> Result<Option<Client>, CliError> {
    match try_connect(dirs).await? {
        Attempt::Connected(s) => handshake(s).await.map(Some),
        Attempt::NotRunning => Ok(None),
    }
}

/// Connects, starting the daemon first when it is not running.
pub async fn connect(dirs: &Dirs) -> Result<Client, CliError> {
    if let Some(client) = connect_existing(dirs).await? {
        return Ok(client);
    }
    let (client, _) = start(dirs).await?;
    Ok(client)
}

/// Where `mentord` is: `MENTORD`, else beside this executable, else on PATH.
fn mentord_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MENTORD").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(sibling) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("mentord")))
        .filter(|p| p.is_file())
    {
        return Some(sibling);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("mentord"))
            .find(|p| p.is_file())
    })
}

/// Connects, starting the daemon without a word on stderr (the terminal UI owns the screen).
pub async fn connect_quietly(dirs: &Dirs) -> Result<Client, CliError> {
    if let Some(client) = connect_existing(dirs).await? {
        return Ok(client);
    }
    Ok(start_saying(dirs, false).await?.0)
}

/// Starts the daemon in the background and waits until its socket answers. Returns the
/// client and the daemon's pid.
pub async fn start(dirs: &Dirs) -> Result<(Client, u32), CliError> {
    start_saying(dirs, true).await
}

/// [`start`], saying so on stderr when `say`.
async fn start_saying(dirs: &Dirs, say: bool) -> Result<(Client, u32), CliError> {
    let l = i18n::ui();
    let program = mentord_path().ok_or(CliError::MentordNotFound)?;
    let io = |path: &PathBuf| {
        let path = path.display().to_string();
        move |e: std::io::Error| CliError::Io {
            path,
            reason: e.to_string(),
        }
    };
    std::fs::create_dir_all(&dirs.state).map_err(io(&dirs.state))?;
    let out_path = dirs.startup_output();
    let out = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&out_path)
            .map_err(io(&out_path))?
    };
    // Owner-only even when an older file was there with a wider mode.
    {
        use std::os::unix::fs::PermissionsExt;
        out.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io(&out_path))?;
    }
    if say {
        eprintln!("{}", t!(l, "daemon-starting"));
    }
    let spawn = || -> Result<std::process::Child, CliError> {
        use std::os::unix::process::CommandExt;
        let out = out.try_clone().map_err(io(&out_path))?;
        let err = out.try_clone().map_err(io(&out_path))?;
        Command::new(&program)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group: Ctrl+C in this terminal must not stop the daemon.
            .process_group(0)
            .spawn()
            .map_err(io(&program))
    };
    let mut child = spawn()?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Attempt::Connected(stream) = try_connect(dirs).await? {
            let client = handshake(stream).await?;
            let pid = client.server.pid;
            if say {
                eprintln!("{}", t!(l, "daemon-started", pid = pid));
            }
            return Ok((client, pid));
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another client may have started a daemon at the same moment: ours then exits,
            // and theirs will answer shortly. Or a daemon that was stopping still held the
            // lock when ours started: once it is gone, start ours again.
            if dirs.running_daemon_pid().is_none() {
                let detail = std::fs::read_to_string(&out_path).unwrap_or_default();
                if status.code() == Some(LOCK_CONFLICT_EXIT) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    child = spawn()?;
                    continue;
                }
                let detail = detail.trim().trim_start_matches("mentord: ").to_string();
                return Err(CliError::DaemonStartFailed {
                    detail: if detail.is_empty() {
                        // It could not even say why: its output file may be on a full disk.
                        let code = status
                            .code()
                            .map_or_else(|| status.to_string(), |c| c.to_string());
                        t!(
                            l,
                            "daemon-start-silent",
                            code = code,
                            path = out_path.display().to_string()
                        )
                    } else {
                        detail
                    },
                });
            }
        }
        if Instant::now() > deadline {
            return Err(CliError::DaemonStartTimeout {
                log: dirs.log_file().display().to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
