//! What a run tells, split by audience: [`outcome`] (the run's result), [`outputs`] (the CI's
//! outputs, the dotenv file and stdout), [`summary`] (the step summary), [`comment`] (the
//! pull-request comment), [`github`] (GitHub deployments and commit statuses), and
//! [`release`] (promotions, rollbacks, fork acceptances on the new AWS Amplify).

pub mod comment;
pub mod deployment;
pub mod format;
pub mod github;
pub mod outcome;
pub mod outputs;
pub mod release;
pub mod summary;
pub mod told;
