use crate::error::{Error, Result};
use crate::program::{Graph, NodeId};
use crate::set::Decisions;
pub fn build(_d: &Decisions, _g: &mut Graph) -> Result<NodeId> {
    Err(Error::Strategy("todo".into()))
}
