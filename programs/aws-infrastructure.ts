// Infrastructure of the cloud environments (staging, production) on AWS: a VPC over several
// availability zones, EKS with a managed node group, PostgreSQL on RDS (multi-AZ, deletion
// protection, KMS encryption, automated backups matching the RPO), an S3 bucket for backups,
// and CloudWatch alarms the service can read as rollback triggers. Every resource is tagged
// with environment and owner through the provider's default tags.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { tagsOf, type AwsSettings, type Settings } from './settings';

export interface AwsPlatform {
  kubeconfig: pulumi.Output<string>;
  databaseHost: pulumi.Output<string>;
  databasePort: number;
  backupBucket: pulumi.Output<string>;
  alarms: pulumi.Output<string>[];
}

export function awsInfrastructure(settings: Settings, password: pulumi.Output<string>, parent: pulumi.Resource): AwsPlatform {
  const cloud = settings.aws as AwsSettings;
  const provider = new aws.Provider('aws', { region: cloud.region as aws.Region, defaultTags: { tags: tagsOf(settings) } }, { parent });
  const opts = { parent, provider };
  const name = `${settings.project}-${settings.environment}`;

  const key = new aws.kms.Key('data', {
    description: `${name}: RDS storage, backups and Kubernetes secrets`,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
  }, opts);

  const network = vpc(cloud, name, opts);
  const cluster = eks(cloud, name, network, key, opts);
  const database = rds(settings, name, network, key, password, opts);
  const backupBucket = backups(key, opts);
  const alarms = [
    new aws.cloudwatch.MetricAlarm('db-cpu', {
      namespace: 'AWS/RDS', metricName: 'CPUUtilization', dimensions: { DBInstanceIdentifier: database.identifier },
      statistic: 'Average', period: 300, evaluationPeriods: 3, threshold: 80, comparisonOperator: 'GreaterThanThreshold',
      alarmDescription: 'Database CPU above 80% for 15 minutes',
    }, opts),
    new aws.cloudwatch.MetricAlarm('db-free-storage', {
      namespace: 'AWS/RDS', metricName: 'FreeStorageSpace', dimensions: { DBInstanceIdentifier: database.identifier },
      statistic: 'Minimum', period: 300, evaluationPeriods: 1,
      threshold: settings.database.storageGb * 1024 ** 3 * 0.1, comparisonOperator: 'LessThanThreshold',
      alarmDescription: 'Database free storage below 10%',
    }, opts),
    new aws.cloudwatch.MetricAlarm('lb-5xx', {
      namespace: 'AWS/ApplicationELB', metricName: 'HTTPCode_Target_5XX_Count', dimensions: { LoadBalancer: cloud.loadBalancerName },
      statistic: 'Sum', period: 60, evaluationPeriods: 3, threshold: 10, comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching', alarmDescription: 'Backend 5xx responses: rollback trigger',
    }, opts),
    new aws.cloudwatch.MetricAlarm('lb-latency', {
      namespace: 'AWS/ApplicationELB', metricName: 'TargetResponseTime', dimensions: { LoadBalancer: cloud.loadBalancerName },
      extendedStatistic: 'p95', period: 60, evaluationPeriods: 5, threshold: 1.5, comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching', alarmDescription: 'p95 latency above 1.5 s: rollback trigger',
    }, opts),
  ];

  return {
    kubeconfig: kubeconfigOf(cluster, cloud.region),
    databaseHost: database.address,
    databasePort: 5432,
    backupBucket: backupBucket.bucket,
    alarms: alarms.map((a) => a.name),
  };
}

interface Network {
  vpc: aws.ec2.Vpc;
  publicSubnets: aws.ec2.Subnet[];
  privateSubnets: aws.ec2.Subnet[];
}

function vpc(cloud: AwsSettings, name: string, opts: pulumi.CustomResourceOptions): Network {
  const network = new aws.ec2.Vpc('vpc', { cidrBlock: cloud.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } }, opts);
  const gateway = new aws.ec2.InternetGateway('igw', { vpcId: network.id }, opts);
  const publicRoutes = new aws.ec2.RouteTable('public', { vpcId: network.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }] }, opts);
  const [a, b] = cloud.vpcCidr.split('.');
  const publicSubnets: aws.ec2.Subnet[] = [];
  const privateSubnets: aws.ec2.Subnet[] = [];
  cloud.availabilityZones.forEach((zone, i) => {
    const pub = new aws.ec2.Subnet(`public-${zone}`, {
      vpcId: network.id, availabilityZone: zone, cidrBlock: `${a}.${b}.${i}.0/24`, mapPublicIpOnLaunch: true,
      tags: { Name: `${name}-public-${zone}`, 'kubernetes.io/role/elb': '1' },
    }, opts);
    new aws.ec2.RouteTableAssociation(`public-${zone}`, { subnetId: pub.id, routeTableId: publicRoutes.id }, opts);
    // One NAT gateway per zone: losing a zone does not cut the others off.
    const eip = new aws.ec2.Eip(`nat-${zone}`, { domain: 'vpc' }, opts);
    const nat = new aws.ec2.NatGateway(`nat-${zone}`, { subnetId: pub.id, allocationId: eip.id }, opts);
    const priv = new aws.ec2.Subnet(`private-${zone}`, {
      vpcId: network.id, availabilityZone: zone, cidrBlock: `${a}.${b}.${100 + i}.0/24`,
      tags: { Name: `${name}-private-${zone}`, 'kubernetes.io/role/internal-elb': '1' },
    }, opts);
    const routes = new aws.ec2.RouteTable(`private-${zone}`, { vpcId: network.id, routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }] }, opts);
    new aws.ec2.RouteTableAssociation(`private-${zone}`, { subnetId: priv.id, routeTableId: routes.id }, opts);
    publicSubnets.push(pub);
    privateSubnets.push(priv);
  });
  return { vpc: network, publicSubnets, privateSubnets };
}

function role(name: string, service: string, policies: string[], opts: pulumi.CustomResourceOptions): aws.iam.Role {
  const created = new aws.iam.Role(name, {
    assumeRolePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] }),
  }, opts);
  policies.forEach((policy, i) => new aws.iam.RolePolicyAttachment(`${name}-${i}`, { role: created.name, policyArn: `arn:aws:iam::aws:policy/${policy}` }, opts));
  return created;
}

function eks(cloud: AwsSettings, name: string, network: Network, key: aws.kms.Key, opts: pulumi.CustomResourceOptions): aws.eks.Cluster {
  const clusterRole = role('eks-cluster', 'eks.amazonaws.com', ['AmazonEKSClusterPolicy'], opts);
  const nodeRole = role('eks-nodes', 'ec2.amazonaws.com', ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'], opts);
  const cluster = new aws.eks.Cluster('eks', {
    name,
    version: cloud.kubernetesVersion,
    roleArn: clusterRole.arn,
    vpcConfig: { subnetIds: [...network.privateSubnets, ...network.publicSubnets].map((s) => s.id), endpointPrivateAccess: true },
    encryptionConfig: { provider: { keyArn: key.arn }, resources: ['secrets'] },
    enabledClusterLogTypes: ['api', 'audit', 'authenticator'],
  }, opts);
  new aws.eks.NodeGroup('nodes', {
    clusterName: cluster.name,
    nodeRoleArn: nodeRole.arn,
    subnetIds: network.privateSubnets.map((s) => s.id),
    instanceTypes: [cloud.nodeInstanceType],
    scalingConfig: { minSize: cloud.nodeCount.min, desiredSize: cloud.nodeCount.desired, maxSize: cloud.nodeCount.max },
    updateConfig: { maxUnavailable: 1 }, // rolling node updates, one node at a time
  }, opts);
  return cluster;
}

function rds(settings: Settings, name: string, network: Network, key: aws.kms.Key, password: pulumi.Output<string>, opts: pulumi.CustomResourceOptions) {
  const db = settings.database;
  const subnets = new aws.rds.SubnetGroup('db', { subnetIds: network.privateSubnets.map((s) => s.id) }, opts);
  const firewall = new aws.ec2.SecurityGroup('db', {
    vpcId: network.vpc.id,
    description: 'PostgreSQL from inside the VPC only',
    ingress: [{ protocol: 'tcp', fromPort: 5432, toPort: 5432, cidrBlocks: [network.vpc.cidrBlock] }],
  }, opts);
  return new aws.rds.Instance('db', {
    identifier: name,
    engine: 'postgres',
    engineVersion: '16',
    instanceClass: db.instanceClass,
    allocatedStorage: db.storageGb,
    maxAllocatedStorage: db.storageGb * 2,
    dbName: db.name.replace(/-/g, '_'),
    username: db.user,
    password,
    dbSubnetGroupName: subnets.name,
    vpcSecurityGroupIds: [firewall.id],
    publiclyAccessible: false,
    multiAz: db.multiAz,
    deletionProtection: true,
    storageEncrypted: true,
    kmsKeyId: key.arn,
    // Point-in-time recovery replays transaction logs within the retention window, so any
    // RPO down to minutes is met while backups are kept this many days.
    backupRetentionPeriod: db.backupRetentionDays,
    backupWindow: '03:00-04:00',
    maintenanceWindow: 'sun:04:30-sun:05:30',
    copyTagsToSnapshot: true,
    skipFinalSnapshot: false,
    finalSnapshotIdentifier: `${name}-final`,
    autoMinorVersionUpgrade: true,
    performanceInsightsEnabled: true,
    performanceInsightsKmsKeyId: key.arn,
  }, opts);
}

function backups(key: aws.kms.Key, opts: pulumi.CustomResourceOptions): aws.s3.Bucket {
  const bucket = new aws.s3.Bucket('backups', { forceDestroy: false }, opts);
  new aws.s3.BucketVersioning('backups', { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } }, opts);
  new aws.s3.BucketServerSideEncryptionConfiguration('backups', {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
  }, opts);
  new aws.s3.BucketPublicAccessBlock('backups', {
    bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
  }, opts);
  new aws.s3.BucketLifecycleConfiguration('backups', {
    bucket: bucket.id,
    rules: [{
      id: 'age-out',
      status: 'Enabled',
      filter: {},
      transitions: [{ days: 30, storageClass: 'GLACIER' }],
      noncurrentVersionExpiration: { noncurrentDays: 90 },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    }],
  }, opts);
  return bucket;
}

/** A kubeconfig that authenticates with `aws eks get-token`, as the AWS CLI writes it. */
function kubeconfigOf(cluster: aws.eks.Cluster, region: string): pulumi.Output<string> {
  return pulumi.secret(pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([name, endpoint, ca]) => JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: endpoint, 'certificate-authority-data': ca.data } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    users: [{ name, user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['eks', 'get-token', '--cluster-name', name, '--region', region] } } }],
  })));
}
