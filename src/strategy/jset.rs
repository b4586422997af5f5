use crate::error::{Error, Result};
use crate::program::{Graph, NodeId};
use crate::set::Decisions;
use crate::weights::ArchWeights;
pub fn build(_d: &Decisions, _w: &ArchWeights, _g: &mut Graph) -> Result<NodeId> {
    Err(Error::Strategy("todo".into()))
}
