//! The Lua scripts that keep a value, its namespace's creation-order index and the set of
//! namespaces in step. Redis runs a script atomically: no other command sees a half-done
//! mutation, and the append-only file records the script's effects as one `MULTI`/`EXEC`
//! block, which Redis drops whole if a crash truncated it.

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, ServerErrorKind};

/// Writes a value; a key new to its namespace gets the next creation sequence as its index
/// score, an existing key keeps its score (its position).
///
/// KEYS: value, index, sequence counter, namespaces set.
/// ARGV: the value, the key (index member), the namespace (namespaces set member).
const WRITE: &str = r"
redis.call('SET', KEYS[1], ARGV[1])
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  local sequence = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], sequence, ARGV[2])
  redis.call('SADD', KEYS[4], ARGV[3])
end
return 1
";

/// Removes a value and its index entry; a namespace left without keys leaves the namespaces
/// set (Redis deletes an empty sorted set, so `EXISTS` tells).
///
/// KEYS: value, index, namespaces set.
/// ARGV: the key (index member), the namespace (namespaces set member).
const REMOVE: &str = r"
redis.call('DEL', KEYS[1])
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
end
return 1
";

/// A Lua script called by its SHA-1 (`EVALSHA`), sent whole (`EVAL`) only when the server
/// does not know it yet (first use, or after a restart emptied its script cache): one round
/// trip per call in the steady state.
#[derive(Debug, Clone)]
pub(crate) struct Lua {
    code: &'static str,
    sha: String,
}

impl Lua {
    fn new(code: &'static str) -> Lua {
        Lua { code, sha: redis::Script::new(code).get_hash().to_owned() }
    }

    /// The write script ([`WRITE`]).
    pub(crate) fn write() -> Lua {
        Lua::new(WRITE)
    }

    /// The remove script ([`REMOVE`]).
    pub(crate) fn remove() -> Lua {
        Lua::new(REMOVE)
    }

    /// Runs the script with `keys` and `args`.
    pub(crate) async fn run<T, C>(
        &self,
        conn: &mut C,
        keys: &[&str],
        args: &[&[u8]],
    ) -> RedisResult<T>
    where
        T: FromRedisValue,
        C: ConnectionLike,
    {
        match call("EVALSHA", &self.sha, keys, args).query_async(conn).await {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                call("EVAL", self.code, keys, args).query_async(conn).await
            }
            other => other,
        }
    }
}

fn call(command: &str, script: &str, keys: &[&str], args: &[&[u8]]) -> Cmd {
    let mut cmd = redis::cmd(command);
    cmd.arg(script).arg(keys.len()).arg(keys);
    for arg in args {
        cmd.arg(*arg);
    }
    cmd
}
