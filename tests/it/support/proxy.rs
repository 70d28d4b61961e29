//! Real reverse proxies for the forward-auth tests, each in a temporary directory and stopped on drop: nginx
//! (daemonized, so it is listening once started) and Caddy (ready once it says it serves its configuration).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary(candidates: &[&str], package: &str) -> String {
    candidates
        .iter()
        .find(|c| std::path::Path::new(c).exists())
        .map(|c| c.to_string())
        .unwrap_or_else(|| {
            panic!(
                "{package} is not installed: `apt-get install {package}` (scripts/test does this)"
            )
        })
}

/// A proxy process listening on `127.0.0.1:port`.
pub struct Proxy {
    pub port: u16,
    /// Which proxy it is, for messages.
    pub name: &'static str,
    child: Option<Child>,
    pid_file: Option<std::path::PathBuf>,
    _dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = self
            .pid_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        }
    }
}

impl Proxy {
    /// nginx's error log so far (empty for Caddy, whose log is its stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("error.log")).unwrap_or_default()
    }

    /// nginx with one `server` listening on a free port; `server` is the block's body after `listen`.
    pub fn nginx(server: impl FnOnce(u16) -> String) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let port = free_port();
        let config = format!(
            "daemon on;
            master_process off;
            worker_processes 1;
            pid {d}/nginx.pid;
            error_log {d}/error.log info;
            events {{ worker_connections 64; }}
            http {{
                access_log off;
                client_body_temp_path {d}/body;
                proxy_temp_path {d}/proxy;
                fastcgi_temp_path {d}/fastcgi;
                uwsgi_temp_path {d}/uwsgi;
                scgi_temp_path {d}/scgi;
                server {{
                    listen 127.0.0.1:{port};
                    {}
                }}
            }}",
            server(port)
        );
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        // Daemonized, nginx's foreground process exits only after the listening socket is bound: when this
        // returns, nginx is ready (no polling for the port).
        let status = Command::new(binary(
            &["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"],
            "nginx-light",
        ))
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
        assert!(
            status.success(),
            "nginx did not start; see its error log above"
        );
        Proxy {
            port,
            name: "nginx",
            child: None,
            pid_file: Some(dir.path().join("nginx.pid")),
            _dir: dir,
        }
    }

    /// Caddy with one site on a free port; `site` is the site block's body.
    pub fn caddy(site: impl FnOnce(u16) -> String) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = format!(
            "{{
                admin off
                auto_https off
            }}
            http://:{port} {{
                bind 127.0.0.1
                {}
            }}",
            site(port)
        );
        let file = dir.path().join("Caddyfile");
        std::fs::write(&file, config).unwrap();
        let mut child = Command::new(binary(&["/usr/bin/caddy", "/usr/local/bin/caddy"], "caddy"))
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("caddy runs");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut said = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let ready = line.contains("serving initial configuration");
                said.push(line);
                if ready {
                    let _ = tx.send(Ok(()));
                }
            }
            let _ = tx.send(Err(said.join("\n")));
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => panic!("caddy exited before serving:\n{log}"),
            Err(_) => panic!("caddy did not start within 30 s"),
        }
        Proxy {
            port,
            name: "caddy",
            child: Some(child),
            pid_file: None,
            _dir: dir,
        }
    }
}
