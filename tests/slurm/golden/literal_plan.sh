### taskonomy-lit-encoder
#!/bin/bash

# Parameters
#SBATCH --account=vision-lab
#SBATCH --array=0-1%2
#SBATCH --constraint=a100
#SBATCH --cpus-per-task=8
#SBATCH --error='/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/encoder/%A_%a_0_log.err'
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=taskonomy-lit-encoder
#SBATCH --mem=32GB
#SBATCH --nodes=1
#SBATCH --open-mode=append
#SBATCH --output='/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/encoder/%A_%a_0_log.out'
#SBATCH --qos=high
#SBATCH --signal=USR2@90
#SBATCH --time=02:00:00
#SBATCH --wckey=submitit

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/encoder/%A_%a_%t_log.out' --error '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/encoder/%A_%a_%t_log.err' python3 -u -m submitit.core._submit '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/encoder'
### taskonomy-lit-transfer-o1
#!/bin/bash

# Parameters
#SBATCH --account=vision-lab
#SBATCH --array=0-2%2
#SBATCH --constraint=a100
#SBATCH --cpus-per-task=4
#SBATCH --error='/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/transfer-o1/%A_%a_0_log.err'
#SBATCH --exclusive
#SBATCH --gres=gpu:1
#SBATCH --job-name=taskonomy-lit-transfer-o1
#SBATCH --mem=7680MB
#SBATCH --nodes=1
#SBATCH --open-mode=append
#SBATCH --output='/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/transfer-o1/%A_%a_0_log.out'
#SBATCH --partition=gpu-short
#SBATCH --qos=high
#SBATCH --signal=USR2@90
#SBATCH --time=00:15:00
#SBATCH --wckey=submitit

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/transfer-o1/%A_%a_%t_log.out' --error '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/transfer-o1/%A_%a_%t_log.err' python3 -u -m submitit.core._submit '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/transfer-o1'
### taskonomy-lit-taxonomy
#!/bin/bash

# Parameters
#SBATCH --account=vision-lab
#SBATCH --constraint=a100
#SBATCH --cpus-per-task=2
#SBATCH --error='/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/taxonomy/%j_0_log.err'
#SBATCH --exclusive
#SBATCH --job-name=taskonomy-lit-taxonomy
#SBATCH --mem=4GB
#SBATCH --nodes=1
#SBATCH --open-mode=append
#SBATCH --output='/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/taxonomy/%j_0_log.out'
#SBATCH --qos=high
#SBATCH --signal=USR2@90
#SBATCH --time=00:15:00
#SBATCH --wckey=submitit

# command
export SUBMITIT_EXECUTOR=slurm
srun --unbuffered --output '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/taxonomy/%j_%t_log.out' --error '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/taxonomy/%j_%t_log.err' python3 -u -m submitit.core._submit '/scratch/O'"'"'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab	here/work dir/logs/slurm/taxonomy'
