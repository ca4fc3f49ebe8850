//! The tarpc service implementation: thin. It checks the handshake, resolves the notebook the
//! caller named, and delegates to the store and source modules.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mentor_shared::ids::UserId;
use mentor_shared::protocol::*;
use mentor_shared::service::Mentor;
use mentor_shared::ApiError;
use tarpc::context::Context;

use crate::state::Daemon;
use crate::store::{notebooks, objectives, sources};

/// One connected client: who it is and whether it has shaken hands.
#[derive(Clone)]
pub struct Peer {
    daemon: Arc<Daemon>,
    user: UserId,
    greeted: Arc<AtomicBool>,
}

impl Peer {
    /// A new, not yet greeted, peer.
    pub fn new(daemon: Arc<Daemon>, user: UserId) -> Peer {
        Peer {
            daemon,
            user,
            greeted: Arc::new(AtomicBool::new(false)),
        }
    }

    fn ready(&self) -> Result<(), ApiError> {
        if !self.greeted.load(Ordering::Acquire) {
            return Err(ApiError::HandshakeRequired);
        }
        if self.daemon.shutdown.is_cancelled() {
            return Err(ApiError::ShuttingDown);
        }
        Ok(())
    }

    async fn notebook(
        &self,
        reference: String,
    ) -> Result<mentor_shared::ids::NotebookId, ApiError> {
        let user = self.user;
        self.daemon
            .store
            .read(move |c| notebooks::resolve(c, user, &reference))
            .await
    }

    async fn show(&self, id: mentor_shared::ids::NotebookId) -> Result<Notebook, ApiError> {
        let user = self.user;
        self.daemon
            .store
            .read(move |c| notebooks::get(c, user, id))
            .await
    }
}

impl Mentor for Peer {
    async fn hello(self, _: Context, hello: ClientHello) -> Result<ServerHello, ApiError> {
        if hello.protocol != self.daemon.protocol {
            tracing::warn!(
                client = hello.protocol,
                daemon = self.daemon.protocol,
                "protocol version mismatch"
            );
            return Err(ApiError::VersionMismatch {
                client: hello.protocol,
                daemon: self.daemon.protocol,
            });
        }
        self.greeted.store(true, Ordering::Release);
        Ok(ServerHello {
            protocol: self.daemon.protocol,
            daemon_version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
        })
    }

    async fn status(self, _: Context) -> Result<DaemonStatus, ApiError> {
        self.ready()?;
        let user = self.user;
        let (notebooks, sources) = self
            .daemon
            .store
            .read(move |c| notebooks::counts(c, user))
            .await?;
        let d = &self.daemon;
        Ok(DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: d.protocol,
            started: d.started,
            uptime_secs: d.started_at.elapsed().as_secs(),
            socket: d.dirs.socket().display().to_string(),
            database: d.store.path().display().to_string(),
            log_file: d.dirs.log_file().display().to_string(),
            connections: d.connections.load(Ordering::Relaxed),
            notebooks,
            sources,
        })
    }

    async fn shutdown(self, _: Context) -> Result<(), ApiError> {
        self.ready()?;
        tracing::info!("shutdown requested by a client");
        self.daemon.shutdown.cancel();
        Ok(())
    }

    async fn notebook_create(
        self,
        _: Context,
        title: String,
        module_prompt: Option<String>,
    ) -> Result<Notebook, ApiError> {
        self.ready()?;
        let title = notebooks::clean_title(&title)?;
        let prompt = notebooks::clean_prompt(module_prompt.as_deref().unwrap_or(""))?;
        let user = self.user;
        let id = self
            .daemon
            .store
            .write(move |tx| notebooks::create(tx, user, &title, &prompt))
            .await?;
        self.show(id).await
    }

    async fn notebook_list(self, _: Context) -> Result<Vec<NotebookSummary>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| notebooks::list(c, user))
            .await
    }

    async fn notebook_show(self, _: Context, notebook: String) -> Result<Notebook, ApiError> {
        self.ready()?;
        let id = self.notebook(notebook).await?;
        self.show(id).await
    }

    async fn notebook_rename(
        self,
        _: Context,
        notebook: String,
        title: String,
    ) -> Result<Notebook, ApiError> {
        self.ready()?;
        let title = notebooks::clean_title(&title)?;
        let user = self.user;
        let id = self
            .daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::rename(tx, id, &title)?;
                Ok(id)
            })
            .await?;
        self.show(id).await
    }

    async fn notebook_set_prompt(
        self,
        _: Context,
        notebook: String,
        module_prompt: String,
    ) -> Result<Notebook, ApiError> {
        self.ready()?;
        let prompt = notebooks::clean_prompt(&module_prompt)?;
        let user = self.user;
        let id = self
            .daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::set_prompt(tx, id, &prompt)?;
                Ok(id)
            })
            .await?;
        self.show(id).await
    }

    async fn notebook_delete(
        self,
        _: Context,
        notebook: String,
    ) -> Result<NotebookDeleted, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::delete(tx, user, id)
            })
            .await
    }

    async fn objective_add(
        self,
        _: Context,
        notebook: String,
        text: String,
    ) -> Result<Objective, ApiError> {
        self.ready()?;
        let text = objectives::clean_text(&text)?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::touch(tx, id)?;
                objectives::add(tx, id, &text)
            })
            .await
    }

    async fn objective_list(
        self,
        _: Context,
        notebook: String,
    ) -> Result<Vec<Objective>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| {
                let id = notebooks::resolve(c, user, &notebook)?;
                objectives::list(c, id)
            })
            .await
    }

    async fn objective_remove(
        self,
        _: Context,
        notebook: String,
        objective: String,
    ) -> Result<Objective, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let id = notebooks::resolve(tx, user, &notebook)?;
                notebooks::touch(tx, id)?;
                objectives::remove(tx, id, &objective)
            })
            .await
    }

    async fn source_add_files(
        self,
        _: Context,
        notebook: String,
        paths: Vec<String>,
    ) -> Result<Vec<Source>, ApiError> {
        self.ready()?;
        if paths.is_empty() {
            return Err(ApiError::EmptyField {
                field: "paths".into(),
            });
        }
        let notebook_id = self.notebook(notebook).await?;
        let limits = self.daemon.limits.clone();
        // Extract everything first: one bad file means nothing is added.
        let loaded = tokio::task::spawn_blocking(move || {
            paths
                .iter()
                .map(|p| crate::sources::load_file(p, &limits))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| ApiError::Internal {
            message: e.to_string(),
        })??;
        let ids = self
            .daemon
            .store
            .write(move |tx| {
                let mut ids = Vec::new();
                for new in &loaded {
                    ids.push(sources::insert(tx, notebook_id, new)?);
                }
                notebooks::touch(tx, notebook_id)?;
                Ok(ids)
            })
            .await?;
        let all = self
            .daemon
            .store
            .read(move |c| sources::list(c, notebook_id))
            .await?;
        // In the order the learner gave the files.
        Ok(ids
            .iter()
            .filter_map(|id| all.iter().find(|s| s.id == *id).cloned())
            .collect())
    }

    async fn source_add_url(
        self,
        _: Context,
        notebook: String,
        url: String,
    ) -> Result<Source, ApiError> {
        self.ready()?;
        let notebook_id = self.notebook(notebook).await?;
        let new = crate::sources::load_url(&self.daemon.http, &url, &self.daemon.limits).await?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let id = sources::insert(tx, notebook_id, &new)?;
                notebooks::touch(tx, notebook_id)?;
                Ok(sources::get(tx, user, &id.to_string())?.source)
            })
            .await
    }

    async fn source_list(self, _: Context, notebook: String) -> Result<Vec<Source>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| {
                let id = notebooks::resolve(c, user, &notebook)?;
                sources::list(c, id)
            })
            .await
    }

    async fn source_show(self, _: Context, source: String) -> Result<SourceDetail, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| sources::get(c, user, &source))
            .await
    }

    async fn source_remove(self, _: Context, source: String) -> Result<Source, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .write(move |tx| {
                let removed = sources::remove(tx, user, &source)?;
                notebooks::touch(tx, removed.notebook_id)?;
                Ok(removed)
            })
            .await
    }

    async fn source_search(
        self,
        _: Context,
        notebook: String,
        query: String,
        limit: u32,
    ) -> Result<Vec<SearchHit>, ApiError> {
        self.ready()?;
        let user = self.user;
        self.daemon
            .store
            .read(move |c| {
                let id = notebooks::resolve(c, user, &notebook)?;
                sources::search(c, id, &query, limit)
            })
            .await
    }
}
