// Entry point of the Pulumi program: the run script calls the exported function.
import { deploy } from './deploy';

export = deploy;
