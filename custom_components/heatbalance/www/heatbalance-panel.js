var Wt=Object.defineProperty;var jt=(o,t,e)=>t in o?Wt(o,t,{enumerable:!0,configurable:!0,writable:!0,value:e}):o[t]=e;var G=(o,t,e)=>jt(o,typeof t!="symbol"?t+"":t,e);var q=globalThis,K=q.ShadowRoot&&(q.ShadyCSS===void 0||q.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,X=Symbol(),$t=new WeakMap,L=class{constructor(t,e,s){if(this._$cssResult$=!0,s!==X)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=t,this.t=e}get styleSheet(){let t=this.o,e=this.t;if(K&&t===void 0){let s=e!==void 0&&e.length===1;s&&(t=$t.get(e)),t===void 0&&((this.o=t=new CSSStyleSheet).replaceSync(this.cssText),s&&$t.set(e,t))}return t}toString(){return this.cssText}},ft=o=>new L(typeof o=="string"?o:o+"",void 0,X),Y=(o,...t)=>{let e=o.length===1?o[0]:t.reduce((s,i,n)=>s+(a=>{if(a._$cssResult$===!0)return a.cssText;if(typeof a=="number")return a;throw Error("Value passed to 'css' function must be a 'css' function result: "+a+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(i)+o[n+1],o[0]);return new L(e,o,X)},gt=(o,t)=>{if(K)o.adoptedStyleSheets=t.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let e of t){let s=document.createElement("style"),i=q.litNonce;i!==void 0&&s.setAttribute("nonce",i),s.textContent=e.cssText,o.appendChild(s)}},tt=K?o=>o:o=>o instanceof CSSStyleSheet?(t=>{let e="";for(let s of t.cssRules)e+=s.cssText;return ft(e)})(o):o;var{is:Ft,defineProperty:It,getOwnPropertyDescriptor:Vt,getOwnPropertyNames:Bt,getOwnPropertySymbols:qt,getPrototypeOf:Kt}=Object,Q=globalThis,vt=Q.trustedTypes,Qt=vt?vt.emptyScript:"",Jt=Q.reactiveElementPolyfillSupport,z=(o,t)=>o,et={toAttribute(o,t){switch(t){case Boolean:o=o?Qt:null;break;case Object:case Array:o=o==null?o:JSON.stringify(o)}return o},fromAttribute(o,t){let e=o;switch(t){case Boolean:e=o!==null;break;case Number:e=o===null?null:Number(o);break;case Object:case Array:try{e=JSON.parse(o)}catch{e=null}}return e}},yt=(o,t)=>!Ft(o,t),bt={attribute:!0,type:String,converter:et,reflect:!1,useDefault:!1,hasChanged:yt};Symbol.metadata??=Symbol("metadata"),Q.litPropertyMetadata??=new WeakMap;var A=class extends HTMLElement{static addInitializer(t){this._$Ei(),(this.l??=[]).push(t)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(t,e=bt){if(e.state&&(e.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(t)&&((e=Object.create(e)).wrapped=!0),this.elementProperties.set(t,e),!e.noAccessor){let s=Symbol(),i=this.getPropertyDescriptor(t,s,e);i!==void 0&&It(this.prototype,t,i)}}static getPropertyDescriptor(t,e,s){let{get:i,set:n}=Vt(this.prototype,t)??{get(){return this[e]},set(a){this[e]=a}};return{get:i,set(a){let u=i?.call(this);n?.call(this,a),this.requestUpdate(t,u,s)},configurable:!0,enumerable:!0}}static getPropertyOptions(t){return this.elementProperties.get(t)??bt}static _$Ei(){if(this.hasOwnProperty(z("elementProperties")))return;let t=Kt(this);t.finalize(),t.l!==void 0&&(this.l=[...t.l]),this.elementProperties=new Map(t.elementProperties)}static finalize(){if(this.hasOwnProperty(z("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(z("properties"))){let e=this.properties,s=[...Bt(e),...qt(e)];for(let i of s)this.createProperty(i,e[i])}let t=this[Symbol.metadata];if(t!==null){let e=litPropertyMetadata.get(t);if(e!==void 0)for(let[s,i]of e)this.elementProperties.set(s,i)}this._$Eh=new Map;for(let[e,s]of this.elementProperties){let i=this._$Eu(e,s);i!==void 0&&this._$Eh.set(i,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(t){let e=[];if(Array.isArray(t)){let s=new Set(t.flat(1/0).reverse());for(let i of s)e.unshift(tt(i))}else t!==void 0&&e.push(tt(t));return e}static _$Eu(t,e){let s=e.attribute;return s===!1?void 0:typeof s=="string"?s:typeof t=="string"?t.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(t=>this.enableUpdating=t),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(t=>t(this))}addController(t){(this._$EO??=new Set).add(t),this.renderRoot!==void 0&&this.isConnected&&t.hostConnected?.()}removeController(t){this._$EO?.delete(t)}_$E_(){let t=new Map,e=this.constructor.elementProperties;for(let s of e.keys())this.hasOwnProperty(s)&&(t.set(s,this[s]),delete this[s]);t.size>0&&(this._$Ep=t)}createRenderRoot(){let t=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return gt(t,this.constructor.elementStyles),t}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(t=>t.hostConnected?.())}enableUpdating(t){}disconnectedCallback(){this._$EO?.forEach(t=>t.hostDisconnected?.())}attributeChangedCallback(t,e,s){this._$AK(t,s)}_$ET(t,e){let s=this.constructor.elementProperties.get(t),i=this.constructor._$Eu(t,s);if(i!==void 0&&s.reflect===!0){let n=(s.converter?.toAttribute!==void 0?s.converter:et).toAttribute(e,s.type);this._$Em=t,n==null?this.removeAttribute(i):this.setAttribute(i,n),this._$Em=null}}_$AK(t,e){let s=this.constructor,i=s._$Eh.get(t);if(i!==void 0&&this._$Em!==i){let n=s.getPropertyOptions(i),a=typeof n.converter=="function"?{fromAttribute:n.converter}:n.converter?.fromAttribute!==void 0?n.converter:et;this._$Em=i;let u=a.fromAttribute(e,n.type);this[i]=u??this._$Ej?.get(i)??u,this._$Em=null}}requestUpdate(t,e,s,i=!1,n){if(t!==void 0){let a=this.constructor;if(i===!1&&(n=this[t]),s??=a.getPropertyOptions(t),!((s.hasChanged??yt)(n,e)||s.useDefault&&s.reflect&&n===this._$Ej?.get(t)&&!this.hasAttribute(a._$Eu(t,s))))return;this.C(t,e,s)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(t,e,{useDefault:s,reflect:i,wrapped:n},a){s&&!(this._$Ej??=new Map).has(t)&&(this._$Ej.set(t,a??e??this[t]),n!==!0||a!==void 0)||(this._$AL.has(t)||(this.hasUpdated||s||(e=void 0),this._$AL.set(t,e)),i===!0&&this._$Em!==t&&(this._$Eq??=new Set).add(t))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let t=this.scheduleUpdate();return t!=null&&await t,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[i,n]of this._$Ep)this[i]=n;this._$Ep=void 0}let s=this.constructor.elementProperties;if(s.size>0)for(let[i,n]of s){let{wrapped:a}=n,u=this[i];a!==!0||this._$AL.has(i)||u===void 0||this.C(i,void 0,n,u)}}let t=!1,e=this._$AL;try{t=this.shouldUpdate(e),t?(this.willUpdate(e),this._$EO?.forEach(s=>s.hostUpdate?.()),this.update(e)):this._$EM()}catch(s){throw t=!1,this._$EM(),s}t&&this._$AE(e)}willUpdate(t){}_$AE(t){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(t)),this.updated(t)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(t){return!0}update(t){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(t){}firstUpdated(t){}};A.elementStyles=[],A.shadowRootOptions={mode:"open"},A[z("elementProperties")]=new Map,A[z("finalized")]=new Map,Jt?.({ReactiveElement:A}),(Q.reactiveElementVersions??=[]).push("2.1.2");var lt=globalThis,wt=o=>o,J=lt.trustedTypes,xt=J?J.createPolicy("lit-html",{createHTML:o=>o}):void 0,Mt="$lit$",S=`lit$${Math.random().toFixed(9).slice(2)}$`,Pt="?"+S,Zt=`<${Pt}>`,P=document,W=()=>P.createComment(""),j=o=>o===null||typeof o!="object"&&typeof o!="function",ct=Array.isArray,Gt=o=>ct(o)||typeof o?.[Symbol.iterator]=="function",st=`[ 	
\f\r]`,D=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,At=/-->/g,St=/>/g,C=RegExp(`>|${st}(?:([^\\s"'>=/]+)(${st}*=${st}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),kt=/'/g,Et=/"/g,Ot=/^(?:script|style|textarea|title)$/i,ht=o=>(t,...e)=>({_$litType$:o,strings:t,values:e}),m=ht(1),w=ht(2),de=ht(3),O=Symbol.for("lit-noChange"),f=Symbol.for("lit-nothing"),Ct=new WeakMap,M=P.createTreeWalker(P,129);function Nt(o,t){if(!ct(o)||!o.hasOwnProperty("raw"))throw Error("invalid template strings array");return xt!==void 0?xt.createHTML(t):t}var Xt=(o,t)=>{let e=o.length-1,s=[],i,n=t===2?"<svg>":t===3?"<math>":"",a=D;for(let u=0;u<e;u++){let l=o[u],d,c,r=-1,_=0;for(;_<l.length&&(a.lastIndex=_,c=a.exec(l),c!==null);)_=a.lastIndex,a===D?c[1]==="!--"?a=At:c[1]!==void 0?a=St:c[2]!==void 0?(Ot.test(c[2])&&(i=RegExp("</"+c[2],"g")),a=C):c[3]!==void 0&&(a=C):a===C?c[0]===">"?(a=i??D,r=-1):c[1]===void 0?r=-2:(r=a.lastIndex-c[2].length,d=c[1],a=c[3]===void 0?C:c[3]==='"'?Et:kt):a===Et||a===kt?a=C:a===At||a===St?a=D:(a=C,i=void 0);let h=a===C&&o[u+1].startsWith("/>")?" ":"";n+=a===D?l+Zt:r>=0?(s.push(d),l.slice(0,r)+Mt+l.slice(r)+S+h):l+S+(r===-2?u:h)}return[Nt(o,n+(o[e]||"<?>")+(t===2?"</svg>":t===3?"</math>":"")),s]},F=class o{constructor({strings:t,_$litType$:e},s){let i;this.parts=[];let n=0,a=0,u=t.length-1,l=this.parts,[d,c]=Xt(t,e);if(this.el=o.createElement(d,s),M.currentNode=this.el.content,e===2||e===3){let r=this.el.content.firstChild;r.replaceWith(...r.childNodes)}for(;(i=M.nextNode())!==null&&l.length<u;){if(i.nodeType===1){if(i.hasAttributes())for(let r of i.getAttributeNames())if(r.endsWith(Mt)){let _=c[a++],h=i.getAttribute(r).split(S),p=/([.?@])?(.*)/.exec(_);l.push({type:1,index:n,name:p[2],strings:h,ctor:p[1]==="."?at:p[1]==="?"?ot:p[1]==="@"?nt:R}),i.removeAttribute(r)}else r.startsWith(S)&&(l.push({type:6,index:n}),i.removeAttribute(r));if(Ot.test(i.tagName)){let r=i.textContent.split(S),_=r.length-1;if(_>0){i.textContent=J?J.emptyScript:"";for(let h=0;h<_;h++)i.append(r[h],W()),M.nextNode(),l.push({type:2,index:++n});i.append(r[_],W())}}}else if(i.nodeType===8)if(i.data===Pt)l.push({type:2,index:n});else{let r=-1;for(;(r=i.data.indexOf(S,r+1))!==-1;)l.push({type:7,index:n}),r+=S.length-1}n++}}static createElement(t,e){let s=P.createElement("template");return s.innerHTML=t,s}};function U(o,t,e=o,s){if(t===O)return t;let i=s!==void 0?e._$Co?.[s]:e._$Cl,n=j(t)?void 0:t._$litDirective$;return i?.constructor!==n&&(i?._$AO?.(!1),n===void 0?i=void 0:(i=new n(o),i._$AT(o,e,s)),s!==void 0?(e._$Co??=[])[s]=i:e._$Cl=i),i!==void 0&&(t=U(o,i._$AS(o,t.values),i,s)),t}var it=class{constructor(t,e){this._$AV=[],this._$AN=void 0,this._$AD=t,this._$AM=e}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(t){let{el:{content:e},parts:s}=this._$AD,i=(t?.creationScope??P).importNode(e,!0);M.currentNode=i;let n=M.nextNode(),a=0,u=0,l=s[0];for(;l!==void 0;){if(a===l.index){let d;l.type===2?d=new I(n,n.nextSibling,this,t):l.type===1?d=new l.ctor(n,l.name,l.strings,this,t):l.type===6&&(d=new rt(n,this,t)),this._$AV.push(d),l=s[++u]}a!==l?.index&&(n=M.nextNode(),a++)}return M.currentNode=P,i}p(t){let e=0;for(let s of this._$AV)s!==void 0&&(s.strings!==void 0?(s._$AI(t,s,e),e+=s.strings.length-2):s._$AI(t[e])),e++}},I=class o{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(t,e,s,i){this.type=2,this._$AH=f,this._$AN=void 0,this._$AA=t,this._$AB=e,this._$AM=s,this.options=i,this._$Cv=i?.isConnected??!0}get parentNode(){let t=this._$AA.parentNode,e=this._$AM;return e!==void 0&&t?.nodeType===11&&(t=e.parentNode),t}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(t,e=this){t=U(this,t,e),j(t)?t===f||t==null||t===""?(this._$AH!==f&&this._$AR(),this._$AH=f):t!==this._$AH&&t!==O&&this._(t):t._$litType$!==void 0?this.$(t):t.nodeType!==void 0?this.T(t):Gt(t)?this.k(t):this._(t)}O(t){return this._$AA.parentNode.insertBefore(t,this._$AB)}T(t){this._$AH!==t&&(this._$AR(),this._$AH=this.O(t))}_(t){this._$AH!==f&&j(this._$AH)?this._$AA.nextSibling.data=t:this.T(P.createTextNode(t)),this._$AH=t}$(t){let{values:e,_$litType$:s}=t,i=typeof s=="number"?this._$AC(t):(s.el===void 0&&(s.el=F.createElement(Nt(s.h,s.h[0]),this.options)),s);if(this._$AH?._$AD===i)this._$AH.p(e);else{let n=new it(i,this),a=n.u(this.options);n.p(e),this.T(a),this._$AH=n}}_$AC(t){let e=Ct.get(t.strings);return e===void 0&&Ct.set(t.strings,e=new F(t)),e}k(t){ct(this._$AH)||(this._$AH=[],this._$AR());let e=this._$AH,s,i=0;for(let n of t)i===e.length?e.push(s=new o(this.O(W()),this.O(W()),this,this.options)):s=e[i],s._$AI(n),i++;i<e.length&&(this._$AR(s&&s._$AB.nextSibling,i),e.length=i)}_$AR(t=this._$AA.nextSibling,e){for(this._$AP?.(!1,!0,e);t!==this._$AB;){let s=wt(t).nextSibling;wt(t).remove(),t=s}}setConnected(t){this._$AM===void 0&&(this._$Cv=t,this._$AP?.(t))}},R=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(t,e,s,i,n){this.type=1,this._$AH=f,this._$AN=void 0,this.element=t,this.name=e,this._$AM=i,this.options=n,s.length>2||s[0]!==""||s[1]!==""?(this._$AH=Array(s.length-1).fill(new String),this.strings=s):this._$AH=f}_$AI(t,e=this,s,i){let n=this.strings,a=!1;if(n===void 0)t=U(this,t,e,0),a=!j(t)||t!==this._$AH&&t!==O,a&&(this._$AH=t);else{let u=t,l,d;for(t=n[0],l=0;l<n.length-1;l++)d=U(this,u[s+l],e,l),d===O&&(d=this._$AH[l]),a||=!j(d)||d!==this._$AH[l],d===f?t=f:t!==f&&(t+=(d??"")+n[l+1]),this._$AH[l]=d}a&&!i&&this.j(t)}j(t){t===f?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,t??"")}},at=class extends R{constructor(){super(...arguments),this.type=3}j(t){this.element[this.name]=t===f?void 0:t}},ot=class extends R{constructor(){super(...arguments),this.type=4}j(t){this.element.toggleAttribute(this.name,!!t&&t!==f)}},nt=class extends R{constructor(t,e,s,i,n){super(t,e,s,i,n),this.type=5}_$AI(t,e=this){if((t=U(this,t,e,0)??f)===O)return;let s=this._$AH,i=t===f&&s!==f||t.capture!==s.capture||t.once!==s.once||t.passive!==s.passive,n=t!==f&&(s===f||i);i&&this.element.removeEventListener(this.name,this,s),n&&this.element.addEventListener(this.name,this,t),this._$AH=t}handleEvent(t){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,t):this._$AH.handleEvent(t)}},rt=class{constructor(t,e,s){this.element=t,this.type=6,this._$AN=void 0,this._$AM=e,this.options=s}get _$AU(){return this._$AM._$AU}_$AI(t){U(this,t)}};var Yt=lt.litHtmlPolyfillSupport;Yt?.(F,I),(lt.litHtmlVersions??=[]).push("3.3.3");var Ut=(o,t,e)=>{let s=e?.renderBefore??t,i=s._$litPart$;if(i===void 0){let n=e?.renderBefore??null;s._$litPart$=i=new I(t.insertBefore(W(),n),n,void 0,e??{})}return i._$AI(o),i};var dt=globalThis,k=class extends A{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let t=super.createRenderRoot();return this.renderOptions.renderBefore??=t.firstChild,t}update(t){let e=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(t),this._$Do=Ut(e,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return O}};k._$litElement$=!0,k.finalized=!0,dt.litElementHydrateSupport?.({LitElement:k});var te=dt.litElementPolyfillSupport;te?.({LitElement:k});(dt.litElementVersions??=[]).push("4.2.2");function Rt(o,t){let e=new Map,s=new Map;for(let[h,p]of o.nodes)s.set(h,p),p!==null&&(e.has(p)||e.set(p,[]),e.get(p).push(h));let i=new Map;for(let h of o.inlets)i.has(h.node)||i.set(h.node,[]),i.get(h.node).push(h);let n=new Map,a=h=>{if(n.has(h))return n.get(h);n.set(h,!1);let p=i.has(h)||(e.get(h)||[]).some($=>a($));return n.set(h,p),p},u=o.substation.node,l=new Map,d=new Map,c=22/2,r=0,_=(h,p,$)=>{let g=(e.get(h)||[]).filter(a),b=i.get(h)||[];for(;h!==u&&g.length===1&&b.length===0&&!i.has(g[0])&&(e.get(g[0])||[]).filter(a).length>0;)l.set(h,{x:p*26,y:null,parent:$,folded:g[0]}),h=g[0],g=(e.get(h)||[]).filter(a);let x=[];for(let N of b){let Dt=(t.has(N.id)?Math.ceil(N.households.length/30):0)*11;d.set(N.id,{...N,x:(p+1)*26,y:c,parent:h}),r=Math.max(r,p+1),x.push(c),c+=22+Dt}for(let N of g)x.push(_(N,p+1,h));let y=x.length?(x[0]+x[x.length-1])/2:c;return l.set(h,{x:p*26,y,parent:$}),r=Math.max(r,p),y};_(u,0,null);for(let[h,p]of l)if(p.y===null){let $=p.folded;for(;l.get($)&&l.get($).y===null;)$=l.get($).folded;p.y=l.get($)?l.get($).y:0}return{nodes:l,inlets:d,width:(r+1)*26,height:c}}var Z=320,E=120,v={left:34,right:8,top:8,bottom:18};function Ht(o){let t=o.filter(i=>i!=null&&Number.isFinite(i));if(!t.length)return null;let e=Math.min(...t),s=Math.max(...t);return s-e<1e-9&&(e-=1,s+=1),[e,s]}function Tt(o){let t=Math.abs(o);return t>=100?o.toFixed(0):t>=10?o.toFixed(1):o.toFixed(2)}function H({series:o,fixed:t=null,xLabel:e="",empty:s="",name:i=""}){let n=o.flatMap(_=>_.points.map(h=>h[0])),a=o.flatMap(_=>_.points.map(h=>h[1])),u=Ht(n),l=t||Ht(a);if(!u||!l)return m`<div class="chart-empty" data-chart=${i}>${s}</div>`;let d=_=>v.left+(_-u[0])/(u[1]-u[0]||1)*(Z-v.left-v.right),c=_=>E-v.bottom-(_-l[0])/(l[1]-l[0])*(E-v.top-v.bottom),r=o.map(_=>{let h=y=>y[1]!==null&&y[1]!==void 0&&Number.isFinite(y[1]),p=_.points.filter(h),$="",g=!1;for(let y of _.points){if(!h(y)){g=!1;continue}$+=`${g?"L":"M"}${d(y[0]).toFixed(1)},${c(y[1]).toFixed(1)}`,g=!0}let b=_.dots||p.length===1?p.map(y=>w`<circle cx=${d(y[0])} cy=${c(y[1])} r="2.5" fill=${_.color}></circle>`):[],x=_.dashed?"4 3":"none";return w`<path d=${$} fill="none" stroke=${_.color} stroke-width="1.6" stroke-dasharray=${x} data-series=${_.key||""}></path>${b}`});return m`<figure class="chart" data-chart=${i} data-points=${a.length}>
    <svg viewBox="0 0 ${Z} ${E}" role="img" preserveAspectRatio="none">
      <line x1=${v.left} y1=${E-v.bottom} x2=${Z-v.right} y2=${E-v.bottom} class="axis"></line>
      <line x1=${v.left} y1=${v.top} x2=${v.left} y2=${E-v.bottom} class="axis"></line>
      <text x=${v.left-3} y=${v.top+8} class="tick" text-anchor="end">${Tt(l[1])}</text>
      <text x=${v.left-3} y=${E-v.bottom} class="tick" text-anchor="end">${Tt(l[0])}</text>
      <text x=${Z-v.right} y=${E-4} class="tick" text-anchor="end">${e}</text>
      ${r}
    </svg>
    <figcaption>${o.filter(_=>!_.optional||_.points.some(h=>h[1]!==null&&h[1]!==void 0)).map(_=>m`<span><i style="background:${_.color}"></i>${_.label}</span>`)}</figcaption>
  </figure>`}var Lt={en:{title:"Heat network",network:"Network",no_networks:"No heatbalance network is running.",loading:"Loading the network\u2026",balance_state:"Balance state",share_in_band:"In band",supply:"Supply",return:"Return",outdoor:"Outdoor",alarms:"Alarms",mode:"Mode",auto:"automatic",manual_mode:"manual",topology:"Topology",table:"Inlets",charts:"Over time",gradient:"Available \u0394P along the main",share_chart:"Share of inlets in band (%)",pump_chart:"Pump head (m) and power (kW)",forecast_chart:"Heat load: forecast and actual (kW)",head:"head",power:"power",forecast:"forecast",actual:"actual",distance:"distance from the substation (m)",name:"Inlet",state:"State",flow_dev:"Flow dev. (%)",return_c:"Return (\xB0C)",opening:"Valve (%)",dp:"\u0394P (kPa)",quality:"Data (%)",households:"households",expand:"show households",collapse:"hide households",substation:"Substation",cycle:"plant time",balancing:"balancing",balanced:"balanced",disturbed:"disturbed",not_balanced:"not balanced",in_band:"in band",short:"short",over:"over",no_data:"no data",fault:"fault",manual:"manual",loop:"loop",no_points:"Waiting for the first cycle\u2026",balance_now:"Balance now",acknowledge:"Acknowledge alarms",proposal:"Manual proposal: nothing moves until you confirm",proposed_pump:"Pump speed (proposed)",proposed_valves:"Valves that would move",proposed_opening:"Proposed (%)",not_proposed:"not proposed",no_valve_moves:"No valve moves in this proposal.",held_by_hand:"Held by hand: confirming does not move these valves",planned_opening:"Planned (%)",held_tip:"The inlet's automatic regulation is off: its valve stays where it is when you confirm. The plan counted on the opening shown; set it by hand to follow the proposal.",confirm:"Confirm proposal",done:"Done.",archive:"Archive history",archive_inlet:"Inlet",archive_network:"Whole network",archive_signal:"Signal",archive_from:"From",archive_to:"To",archive_show:"Show",archive_empty:"No archived cycles in this range.",archive_rows:"cycles",archive_truncated:"cut at 50,000",archive_latest:"table: the latest",archive_time:"Time",archive_quality:"Quality",archive_hours:"hours since",flagged:"flagged",estimated:"estimated",estimated_legend:"\u2248 estimated, not measured",estimated_tip:"Estimated by the engine, not measured: a lost reading predicted, a valve without position feedback assumed where it was sent, \u0394P from the network model where no pressure transmitter is mapped, or a real plant's substation figures from the network model.",rejected_tip:"Reading rejected by the engine's data cleaning or meter checks (out of range, frozen, dead meter, swapped sensors): not shown, not used; the value and the reason are in the sensor's attributes and the diagnostics.",signals:{supply_c:"Supply (\xB0C)",return_c:"Return (\xB0C)",flow_m3h:"Flow (m\xB3/h)",room_c:"Room (\xB0C)",opening:"Valve feedback (0\u20131)",dp_kpa:"Available \u0394P (kPa)",heat_kw:"Heat (kW)",setpoint:"Set value",actual:"Actual value",deviation:"Deviation",flow_deviation:"Flow deviation (%)",command:"Valve command (0\u20131)",in_band:"In band (1/0)",share_in_band:"Share in band (%)",spread:"Spread",outdoor_c:"Outdoor (\xB0C)",pump_flow_m3h:"Pump flow (m\xB3/h)",pump_power_w:"Pump power (W)",forecast_kw:"Forecast heat (kW)",balanced:"Balanced (1/0)"}},"zh-Hans":{title:"\u70ED\u7F51\u5E73\u8861",network:"\u7BA1\u7F51",no_networks:"\u6CA1\u6709\u6B63\u5728\u8FD0\u884C\u7684 heatbalance \u7BA1\u7F51\u3002",loading:"\u6B63\u5728\u52A0\u8F7D\u7BA1\u7F51\u2026",balance_state:"\u5E73\u8861\u72B6\u6001",share_in_band:"\u8FBE\u6807\u6BD4\u4F8B",supply:"\u4F9B\u6C34",return:"\u56DE\u6C34",outdoor:"\u5BA4\u5916",alarms:"\u62A5\u8B66",mode:"\u6A21\u5F0F",auto:"\u81EA\u52A8",manual_mode:"\u624B\u52A8",topology:"\u7BA1\u7F51\u62D3\u6251",table:"\u70ED\u529B\u5165\u53E3",charts:"\u8D8B\u52BF",gradient:"\u6CBF\u4E3B\u5E72\u7EBF\u7684\u8D44\u7528\u538B\u5DEE",share_chart:"\u8FBE\u6807\u5165\u53E3\u6BD4\u4F8B\uFF08%\uFF09",pump_chart:"\u5FAA\u73AF\u6CF5\u626C\u7A0B\uFF08m\uFF09\u4E0E\u529F\u7387\uFF08kW\uFF09",forecast_chart:"\u70ED\u8D1F\u8377\uFF1A\u9884\u6D4B\u4E0E\u5B9E\u9645\uFF08kW\uFF09",head:"\u626C\u7A0B",power:"\u529F\u7387",forecast:"\u9884\u6D4B",actual:"\u5B9E\u9645",distance:"\u8DDD\u6362\u70ED\u7AD9\u8DDD\u79BB\uFF08m\uFF09",name:"\u5165\u53E3",state:"\u72B6\u6001",flow_dev:"\u6D41\u91CF\u504F\u5DEE\uFF08%\uFF09",return_c:"\u56DE\u6C34\uFF08\xB0C\uFF09",opening:"\u9600\u95E8\u5F00\u5EA6\uFF08%\uFF09",dp:"\u538B\u5DEE\uFF08kPa\uFF09",quality:"\u6570\u636E\uFF08%\uFF09",households:"\u6237",expand:"\u5C55\u5F00\u70ED\u7528\u6237",collapse:"\u6536\u8D77\u70ED\u7528\u6237",substation:"\u6362\u70ED\u7AD9",cycle:"\u8FD0\u884C\u65F6\u95F4",balancing:"\u8C03\u8282\u4E2D",balanced:"\u5DF2\u5E73\u8861",disturbed:"\u53D7\u6270\u52A8",not_balanced:"\u672A\u5E73\u8861",in_band:"\u8FBE\u6807",short:"\u6B20\u6D41",over:"\u8D85\u6D41",no_data:"\u65E0\u6570\u636E",fault:"\u6545\u969C",manual:"\u624B\u52A8",loop:"\u73AF\u8DEF",no_points:"\u7B49\u5F85\u7B2C\u4E00\u4E2A\u8C03\u8282\u5468\u671F\u2026",balance_now:"\u7ACB\u5373\u8C03\u8282",acknowledge:"\u786E\u8BA4\u62A5\u8B66",proposal:"\u624B\u52A8\u6A21\u5F0F\u63D0\u8BAE\uFF1A\u786E\u8BA4\u524D\u4E0D\u52A8\u4F5C",proposed_pump:"\u6C34\u6CF5\u8F6C\u901F\uFF08\u63D0\u8BAE\uFF09",proposed_valves:"\u5C06\u52A8\u4F5C\u7684\u9600\u95E8\u6570",proposed_opening:"\u63D0\u8BAE\u5F00\u5EA6\uFF08%\uFF09",not_proposed:"\u65E0\u63D0\u8BAE",no_valve_moves:"\u672C\u63D0\u8BAE\u4E2D\u6CA1\u6709\u9600\u95E8\u52A8\u4F5C\u3002",held_by_hand:"\u624B\u52A8\u4FDD\u6301\uFF1A\u786E\u8BA4\u63D0\u8BAE\u65F6\u8FD9\u4E9B\u9600\u95E8\u4E0D\u52A8\u4F5C",planned_opening:"\u8BA1\u5212\u5F00\u5EA6\uFF08%\uFF09",held_tip:"\u8BE5\u5165\u53E3\u7684\u81EA\u52A8\u8C03\u8282\u5DF2\u5173\u95ED\uFF1A\u786E\u8BA4\u63D0\u8BAE\u65F6\u5176\u9600\u95E8\u4FDD\u6301\u539F\u4F4D\u3002\u63D0\u8BAE\u6309\u6240\u793A\u5F00\u5EA6\u8BA1\u7B97\uFF1B\u5982\u9700\u6309\u63D0\u8BAE\u8C03\u8282\uFF0C\u8BF7\u624B\u52A8\u8BBE\u5B9A\u8BE5\u5F00\u5EA6\u3002",confirm:"\u786E\u8BA4\u63D0\u8BAE",done:"\u5DF2\u5B8C\u6210\u3002",archive:"\u5386\u53F2\u6570\u636E\uFF08\u5F52\u6863\uFF09",archive_inlet:"\u70ED\u529B\u5165\u53E3",archive_network:"\u6574\u4E2A\u7BA1\u7F51",archive_signal:"\u53C2\u6570",archive_from:"\u4ECE",archive_to:"\u5230",archive_show:"\u67E5\u8BE2",archive_empty:"\u8BE5\u65F6\u6BB5\u6CA1\u6709\u5F52\u6863\u7684\u8C03\u8282\u5468\u671F\u3002",archive_rows:"\u4E2A\u5468\u671F",archive_truncated:"\u622A\u81F3 50,000",archive_latest:"\u8868\u683C\uFF1A\u6700\u8FD1",archive_time:"\u65F6\u95F4",archive_quality:"\u6570\u636E\u8D28\u91CF",archive_hours:"\u5C0F\u65F6\uFF0C\u8D77\u70B9",flagged:"\u5DF2\u6807\u8BB0",estimated:"\u4F30\u7B97",estimated_legend:"\u2248 \u4F30\u7B97\u503C\uFF0C\u975E\u5B9E\u6D4B",estimated_tip:"\u7531\u8C03\u63A7\u5F15\u64CE\u4F30\u7B97\uFF0C\u975E\u5B9E\u6D4B\uFF1A\u4E22\u5931\u7684\u8BFB\u6570\u4E3A\u9884\u6D4B\u503C\uFF0C\u65E0\u4F4D\u7F6E\u53CD\u9988\u7684\u9600\u95E8\u6309\u5DF2\u4E0B\u53D1\u6307\u4EE4\u5047\u5B9A\u5F00\u5EA6\uFF0C\u672A\u63A5\u538B\u529B\u53D8\u9001\u5668\u7684\u5165\u53E3\u538B\u5DEE\u53D6\u81EA\u7BA1\u7F51\u6A21\u578B\uFF0C\u5B9E\u9645\u7BA1\u7F51\u7684\u6362\u70ED\u7AD9\u53C2\u6570\u53D6\u81EA\u7BA1\u7F51\u6A21\u578B\u3002",rejected_tip:"\u8BE5\u8BFB\u6570\u88AB\u5F15\u64CE\u7684\u6570\u636E\u6E05\u6D17\u6216\u8BA1\u91CF\u6821\u9A8C\u5254\u9664\uFF08\u8D85\u91CF\u7A0B\u3001\u51BB\u7ED3\u3001\u5931\u6548\u3001\u4F20\u611F\u5668\u63A5\u53CD\uFF09\uFF1A\u4E0D\u663E\u793A\u3001\u4E0D\u53C2\u4E0E\u8C03\u8282\uFF1B\u539F\u503C\u4E0E\u539F\u56E0\u89C1\u4F20\u611F\u5668\u5C5E\u6027\u548C\u8BCA\u65AD\u4FE1\u606F\u3002",signals:{supply_c:"\u4F9B\u6C34\u6E29\u5EA6 (\xB0C)",return_c:"\u56DE\u6C34\u6E29\u5EA6 (\xB0C)",flow_m3h:"\u6D41\u91CF (m\xB3/h)",room_c:"\u5BA4\u6E29 (\xB0C)",opening:"\u9600\u95E8\u53CD\u9988 (0\u20131)",dp_kpa:"\u8D44\u7528\u538B\u5DEE (kPa)",heat_kw:"\u70ED\u91CF (kW)",setpoint:"\u8BBE\u5B9A\u503C",actual:"\u5B9E\u9645\u503C",deviation:"\u504F\u5DEE",flow_deviation:"\u6D41\u91CF\u504F\u5DEE (%)",command:"\u9600\u95E8\u6307\u4EE4 (0\u20131)",in_band:"\u8FBE\u6807 (1/0)",share_in_band:"\u8FBE\u6807\u6BD4\u4F8B (%)",spread:"\u79BB\u6563\u5EA6",outdoor_c:"\u5BA4\u5916\u6E29\u5EA6 (\xB0C)",pump_flow_m3h:"\u6C34\u6CF5\u6D41\u91CF (m\xB3/h)",pump_power_w:"\u6C34\u6CF5\u529F\u7387 (W)",forecast_kw:"\u9884\u6D4B\u70ED\u8D1F\u8377 (kW)",balanced:"\u5DF2\u5E73\u8861 (1/0)"}}};function zt(o){return o&&o.startsWith("zh")?Lt["zh-Hans"]:Lt.en}var T={in_band:"var(--success-color, #43a047)",short:"var(--info-color, #039be5)",over:"var(--error-color, #db4437)",no_data:"var(--disabled-color, #9e9e9e)",fault:"#8e24aa",manual:"var(--warning-color, #ffa600)"},ut=Object.keys(T),se=150,_t=118;function mt(o){let t=0;for(let e of o)t+=e.codePointAt(0)>=11904?11:6.4;return t}function ie(o,t){if(mt(o)<=t)return o;let e="";for(let s of o){if(mt(e+s+"\u2026")>t)break;e+=s}return`${e}\u2026`}var ae=[["name","name"],["state","state"],["flow_dev","flow_dev"],["return_c","return_c"],["opening","opening"],["dp_kpa","dp"],["alarms","alarms"],["quality","quality"]],B=class extends k{constructor(){super(),this._networks=null,this._entry=null,this._view=null,this._expanded=new Set,this._sort=["state",1],this._message="",this._archive=null,this._unsub=null,this._opened=performance.now()}connectedCallback(){super.connectedCallback(),this._opened=performance.now(),this.hass&&this._networks===null&&this._loadNetworks()}disconnectedCallback(){super.disconnectedCallback(),this._unsubscribe()}updated(t){t.has("hass")&&this.hass&&this._networks===null&&this._loadNetworks(),this._view&&this._view.live&&!this.hasAttribute("data-rendered")&&this.setAttribute("data-rendered",(performance.now()-this._opened).toFixed(0)),t.has("_view")&&this._view&&this._view.live&&(this.setAttribute("data-time",this._view.live.time_s),this.setAttribute("data-updated",Date.now())),this.toggleAttribute("dark",!!(this.hass&&this.hass.themes&&this.hass.themes.darkMode))}get _t(){let t=this.hass;return zt(t&&(t.locale&&t.locale.language||t.language)||"en")}async _loadNetworks(){this._networks=[],this._networks=await this.hass.callWS({type:"heatbalance/view/networks"});let t=new URLSearchParams(location.search).get("entry"),e=this._networks.find(s=>s.entry_id===t)||this._networks[0];e&&this._select(e.entry_id,!1)}async _select(t,e=!0){this._unsubscribe(),this._entry=t,this._view=null,this._expanded=new Set,this._archive=null,this.removeAttribute("data-rendered"),e&&(this._opened=performance.now());let s=await this.hass.connection.subscribeMessage(i=>this._onMessage(t,i),{type:"heatbalance/view/subscribe",entry_id:t});this._entry!==t?s():this._unsub=s}_unsubscribe(){this._unsub&&(this._unsub(),this._unsub=null)}_onMessage(t,e){if(t!==this._entry)return;if(e.topology){this._view={...e,history:e.history||[]};return}let s=this._view.history.slice(-719);e.point&&(!s.length||s[s.length-1].t!==e.point.t)&&s.push(e.point),this._view={...this._view,live:e.live,history:s}}render(){let t=this._t;return m`
      <div class="toolbar">
        ${this.narrow?m`<button class="menu" aria-label="menu" @click=${this._toggleMenu}>
              <svg viewBox="0 0 24 24"><path d="M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z"></path></svg>
            </button>`:f}
        <div class="title">${t.title}</div>
        ${this._networks&&this._networks.length>1?m`<select class="networks" @change=${e=>this._select(e.target.value)}>
              ${this._networks.map(e=>m`<option value=${e.entry_id} ?selected=${e.entry_id===this._entry}>${e.title}</option>`)}
            </select>`:f}
      </div>
      <div class="content">${this._content(t)}</div>
    `}_content(t){return this._networks&&this._networks.length===0?m`<ha-card class="pad">${t.no_networks}</ha-card>`:!this._view||!this._view.live?m`<ha-card class="pad">${t.loading}</ha-card>`:m`
      ${this._summary(t)}
      ${this._proposal(t)}
      <div class="columns">
        <ha-card class="topology">
          <h2>${t.topology}</h2>
          ${this._legend(t)}
          <div class="scroll">${this._graph(t)}</div>
        </ha-card>
        <div class="side">
          <ha-card>
            <h2>${t.gradient}</h2>
            ${this._gradient(t)}
          </ha-card>
          <ha-card class="charts">
            <h2>${t.charts}</h2>
            ${this._charts(t)}
          </ha-card>
        </div>
      </div>
      <ha-card class="table">
        <h2>${t.table}</h2>
        ${this._table(t)}
      </ha-card>
      <ha-card class="archive">
        <h2>${t.archive}</h2>
        ${this._archiveForm(t)}
        ${this._archiveResult(t)}
      </ha-card>
    `}_archiveChoice(){if(!this._archive){let e=i=>new Date(i-new Date(i).getTimezoneOffset()*6e4).toISOString().slice(0,16),s=Date.now();this._archive={inlet:"network",signal:"share_in_band",start:e(s-24*36e5),end:e(s+6e4),result:null,busy:!1,error:""}}return this._archive}_archiveForm(t){let e=this._archiveChoice(),s=this._signalsFor(e.inlet),i=a=>u=>{let l={...this._archive,[a]:u.target.value};a==="inlet"&&!this._signalsFor(l.inlet).includes(l.signal)&&(l.signal=this._signalsFor(l.inlet)[0]),this._archive=l},n=a=>t.signals&&t.signals[a]||a;return m`<div class="archive-form">
      <label>${t.archive_inlet}
        <select name="inlet" @change=${i("inlet")}>
          <option value="network" ?selected=${e.inlet==="network"}>${t.archive_network}</option>
          ${this._view.topology.inlets.map(a=>m`<option value=${a.id} ?selected=${e.inlet===a.id}>${a.name}</option>`)}
        </select></label>
      <label>${t.archive_signal}
        <select name="signal" @change=${i("signal")}>
          ${s.map(a=>m`<option value=${a} ?selected=${e.signal===a}>${n(a)}</option>`)}
        </select></label>
      <label>${t.archive_from}<input name="start" type="datetime-local" .value=${e.start} @change=${i("start")} /></label>
      <label>${t.archive_to}<input name="end" type="datetime-local" .value=${e.end} @change=${i("end")} /></label>
      <button data-action="archive" ?disabled=${e.busy} @click=${()=>this._queryArchive()}>${t.archive_show}</button>
      ${e.error?m`<span class="message">${e.error}</span>`:f}
    </div>`}_signalsFor(t){return(this._view.archive||{inlet:[],network:[]})[t==="network"?"network":"inlet"]}async _queryArchive(){let t={...this._archiveChoice(),busy:!0,error:""};this._archive=t;try{let e=await this.hass.callWS({type:"call_service",domain:"heatbalance",service:"history",service_data:{config_entry_id:this._entry,inlet:t.inlet,signals:[t.signal],start:new Date(t.start).toISOString(),end:new Date(t.end).toISOString()},return_response:!0});this._archive={...this._archive,busy:!1,result:{...e.response,signal:t.signal}}}catch(e){this._archive={...this._archive,busy:!1,result:null,error:e&&e.message||String(e)}}}_archiveResult(t){let e=this._archive&&this._archive.result;if(!e)return f;let s=e.rows,i=e.signal;if(!s.length)return m`<div class="chart-empty" data-archive-rows="0">${t.archive_empty}</div>`;let n=p=>{let $=p[i];return typeof $=="boolean"?$?1:0:$},a=s.map(p=>Date.parse(p.time)),u=a[0],l=Math.max(1,Math.ceil(s.length/600)),d=[];for(let p=0;p<s.length;p+=l)d.push([(a[p]-u)/36e5,n(s[p])]);let c=s.slice(-200).reverse(),r=p=>(p.flagged||[]).includes(i)?t.flagged:(p.estimated||[]).includes(i)?t.estimated:"",_=p=>p==null?"\u2013":String(typeof p=="number"?Math.round(p*1e3)/1e3:p),h=t.signals&&t.signals[i]||i;return m`<div class="archive-result" data-archive-rows=${s.length} data-archive-signal=${i} data-archive-inlet=${e.inlet}>
      ${H({name:"archive",series:[{label:h,color:"var(--primary-color)",points:d}],xLabel:`${t.archive_hours} ${new Date(u).toLocaleString()}`,empty:t.archive_empty})}
      <div class="counts">${s.length} ${t.archive_rows}${e.truncated?` (${t.archive_truncated})`:""}${s.length>c.length?` \u2014 ${t.archive_latest} ${c.length}`:""}</div>
      <div class="scroll-x archive-table"><table>
        <thead><tr><th>${t.archive_time}</th><th>${h}</th><th>${t.archive_quality}</th></tr></thead>
        <tbody>
          ${c.map(p=>m`<tr data-archive-time=${p.time}>
            <td>${new Date(p.time).toLocaleString()}</td><td data-value=${String(p[i])}>${_(p[i])}</td><td>${r(p)}</td>
          </tr>`)}
        </tbody>
      </table></div>
    </div>`}_summary(t){let e=this._view.live,s=this._view.history[this._view.history.length-1],i=s?s.state:e.balanced?"balanced":"balancing",n={};for(let d of Object.values(e.inlets))n[d.state]=(n[d.state]||0)+1;let a=(d,c,r="")=>m`<div class="tile ${r}"><span>${d}</span><b>${c}</b></div>`,u=(d,c)=>d==null?"\u2013":`${d} ${c}`,l=(d,c)=>(e.estimated||[]).includes(d)&&e[d]!==null&&e[d]!==void 0?m`<span class="estimated" data-estimated=${d} title=${t.estimated_tip}>≈ ${u(e[d],c)}</span>`:u(e[d],c);return m`<ha-card class="summary">
      ${a(t.balance_state,t[i]||i,`state-${i}`)}
      ${a(t.share_in_band,u(e.share_in_band,"%"))}
      ${a(t.supply,l("supply_c","\xB0C"))}
      ${a(t.return,l("return_c","\xB0C"))}
      ${a(t.outdoor,l("outdoor_c","\xB0C"))}
      ${a(t.alarms,e.alarms)}
      ${a(t.mode,e.auto?t.auto:t.manual_mode)}
      <div class="actions">
        <button data-action="balance_now" @click=${()=>this._call("balance_now")}>${t.balance_now}</button>
        <button data-action="acknowledge_alarm" ?disabled=${!e.alarms}
          @click=${()=>this._call("acknowledge_alarm")}>${t.acknowledge}</button>
        ${this._message?m`<span class="message">${this._message}</span>`:f}
      </div>
      <div class="counts">
        ${ut.filter(d=>n[d]).map(d=>m`<span class="count"><i style="background:${T[d]}"></i>${n[d]} ${t[d]}</span>`)}
      </div>
    </ha-card>`}_proposal(t){let e=this._view.live;if(!e.proposal)return f;let s=new Map(this._view.topology.inlets.map(c=>[c.id,c.name])),i=c=>c.map(([r,_])=>({id:r,name:s.get(r)||r,now:_.opening,command:_.command,planned:_.planned})).sort((r,_)=>r.name.localeCompare(_.name)),n=Object.entries(e.inlets),a=i(n.filter(([,c])=>!c.hand&&c.command!==null&&c.command!==void 0&&c.command!==c.opening)),u=i(n.filter(([,c])=>c.hand)),l=c=>c==null?"\u2013":`${c} %`,d=e.pump_command;return m`<ha-card class="proposal" data-proposal>
      <h2>${t.proposal}</h2>
      <div class="summary">
        <div class="tile" data-proposed-pump=${d==null?"":String(d)}>
          <span>${t.proposed_pump}</span><b>${d==null?t.not_proposed:l(d)}</b>
        </div>
        <div class="tile" data-moving><span>${t.proposed_valves}</span><b>${a.length}</b></div>
        <div class="actions">
          <button data-action="confirm_proposal" @click=${()=>this._call("confirm_proposal")}>${t.confirm}</button>
        </div>
      </div>
      ${a.length?m`<div class="scroll-x"><table>
            <thead><tr><th>${t.name}</th><th>${t.opening}</th><th>${t.proposed_opening}</th></tr></thead>
            <tbody>${a.map(c=>m`<tr data-proposed=${c.id}><td>${c.name}</td><td>${c.now??"\u2013"}</td>
                <td data-value="command">${c.command}</td></tr>`)}</tbody>
          </table></div>`:m`<p class="no-moves" data-no-moves>${t.no_valve_moves}</p>`}
      ${u.length?m`<div class="held" data-held-by-hand>
            <h3 title=${t.held_tip}>${t.held_by_hand}</h3>
            <div class="scroll-x"><table>
              <thead><tr><th>${t.name}</th><th>${t.opening}</th><th>${t.planned_opening}</th></tr></thead>
              <tbody>${u.map(c=>m`<tr data-held=${c.id}><td>${c.name}</td><td>${c.now??"\u2013"}</td>
                  <td data-value="planned">${c.planned??"\u2013"}</td></tr>`)}</tbody>
            </table></div>
          </div>`:f}
    </ha-card>`}async _call(t){this._message="";try{await this.hass.callService("heatbalance",t,{config_entry_id:this._entry}),this._message=this._t.done}catch(e){this._message=e&&e.message||String(e)}}_legend(t){return m`<div class="legend">
      ${ut.map(e=>m`<span><i style="background:${T[e]}"></i>${t[e]}</span>`)}
      <span class="estimated" data-legend="estimated" title=${t.estimated_tip}>${t.estimated_legend}</span>
    </div>`}_graph(t){let{topology:e,live:s}=this._view,i=Rt(e,this._expanded),n=[...i.inlets.values()],a=Math.min(se,Math.max(40,...n.map(h=>mt(h.name)))),u=Math.max(0,...n.map(h=>h.x))+12+a+10,l=Math.max(u+_t+50,i.width+330+12),d=[];for(let[,h]of i.nodes){if(h.folded||h.parent===null)continue;let p=i.nodes.get(h.parent);p&&d.push(w`<path class="pipe" d="M${p.x},${p.y}V${h.y}H${h.x}"></path>`)}for(let[,h]of i.inlets){let p=i.nodes.get(h.parent);p&&d.push(w`<path class="pipe" d="M${p.x},${p.y}V${h.y}H${h.x}"></path>`)}let c=e.loops.map(([h,p])=>{let $=i.nodes.get(h),g=i.nodes.get(p);if(!$||!g)return f;let b=Math.max($.x,g.x)+10;return w`<path class="loop" d="M${$.x},${$.y}H${b}V${g.y}H${g.x}"><title>${t.loop} ${h}–${p}</title></path>`}),r=i.nodes.get(e.substation.node),_=n.map(h=>this._inlet(t,h,s,u,u-h.x-22));return m`<svg class="graph" width=${l} height=${i.height+4} viewBox="-14 -2 ${l+14} ${i.height+4}">
      ${d}${c}
      ${r?w`<g class="substation"><rect x="-12" y=${r.y-8} width="16" height="16" rx="3"></rect>
            <title>${e.substation.name||t.substation}</title></g>`:f}
      ${_}
    </svg>`}_inlet(t,e,s,i,n){let a=s.inlets[e.id],u=a?a.state:"no_data",l=($,g,b=0)=>$==null?"\u2013":`${$.toFixed(b)}${g}`,d=($,g,b=0)=>a.estimated&&a.estimated.includes($)&&a[$]!==null?w`<tspan class="estimated" data-estimated=${$}>≈${l(a[$],g,b)}<title>${t.estimated_tip}</title></tspan>`:w`<tspan data-value=${$}>${l(a[$],g,b)}</tspan>`,c=a?w`${d("flow_dev","%")}  ${d("return_c","\xB0C",1)}  ${d("opening","%")}`:"",r=e.households,_=this._expanded.has(e.id),h=_?r.map(($,g)=>{let b=s.households[$]||(s.inlets[$]?s.inlets[$].state:"no_data"),x=e.x+12+g%30*11,y=e.y+22/2+Math.floor(g/30)*11;return w`<rect class="household" data-household=${$} data-state=${b} x=${x} y=${y}
            width=${9} height=${9} fill=${T[b]}><title>${$}: ${t[b]}</title></rect>`}):f,p=r.length?w`<g class="toggle" data-toggle=${e.id} @click=${()=>this._toggle(e.id)}>
          <rect x=${i+_t} y=${e.y-8} width="40" height="16" rx="8"></rect>
          <text x=${i+_t+20} y=${e.y+4} text-anchor="middle">${_?"\u2212":"+"}${r.length}</text>
          <title>${_?t.collapse:t.expand} (${r.length} ${t.households})</title></g>`:f;return w`<g class="inlet" data-inlet=${e.id} data-state=${u} @click=${()=>this._open(e.id)}>
        <circle cx=${e.x} cy=${e.y} r="7" fill=${T[u]}></circle>
        <text x=${e.x+12} y=${e.y+4} class="name">${ie(e.name,n)}</text>
        <text x=${i} y=${e.y+4} class="values">${c}</text>
        <title>${e.name}: ${t[u]}</title>
      </g>${p}${h}`}_toggle(t){let e=new Set(this._expanded);e.has(t)?e.delete(t):e.add(t),this._expanded=e}_gradient(t){let{topology:e,live:s}=this._view,i=e.inlets.filter(u=>s.inlets[u.id]&&s.inlets[u.id].dp_kpa!==null&&Number.isFinite(u.dist_m)),n=i.map(u=>[u.dist_m,s.inlets[u.id].dp_kpa]).sort((u,l)=>u[0]-l[0]),a=i.filter(u=>(s.inlets[u.id].estimated||[]).includes("dp_kpa")).length;return m`${H({name:"gradient",series:[{label:"\u0394P (kPa)",color:"var(--primary-color)",points:n,dots:!0}],xLabel:t.distance,empty:t.no_points})}${a?m`<div class="estimated note" data-estimated-count=${a} title=${t.estimated_tip}>
          ${t.estimated_legend}: ${a} / ${i.length}</div>`:f}`}_charts(t){let e=this._view.history,s=e.length?e[0].t:0,i=u=>(u.t-s)/3600,n=(u,l,d,c=1)=>({key:u,label:l,color:d,points:e.map(r=>[i(r),r[u]===null||r[u]===void 0?null:r[u]*c])}),a=`${t.cycle} (h)`;return m`
      <h3>${t.share_chart}</h3>
      ${H({name:"share",series:[n("share",t.share_in_band,"var(--success-color, #43a047)")],fixed:[0,100],xLabel:a,empty:t.no_points})}
      <h3>${t.pump_chart}</h3>
      ${H({name:"pump",series:[n("head_m",t.head,"var(--primary-color)"),n("power_w",t.power,"var(--accent-color, #ff9800)",.001)],xLabel:a,empty:t.no_points})}
      <h3>${t.forecast_chart}</h3>
      ${H({name:"forecast",series:[n("forecast_kw",t.forecast,"var(--accent-color, #ff9800)"),n("heat_kw",t.actual,"var(--primary-color)"),{...n("heat_estimate_kw",`\u2248 ${t.estimated}`,"var(--primary-color)"),dashed:!0,dots:!0,optional:!0}],xLabel:a,empty:t.no_points})}
    `}_table(t){let{topology:e,live:s}=this._view,[i,n]=this._sort,a=new Map(e.inlets.map(r=>[r.id,r.name])),u=Object.entries(s.inlets).map(([r,_])=>({id:r,name:a.get(r)||r,..._})),l=r=>i==="state"?ut.indexOf(r.state):r[i];u.sort((r,_)=>{let h=l(r),p=l(_);return h===p?r.name.localeCompare(_.name):h==null?1:p==null?-1:(h<p?-1:1)*n});let d=r=>r??"\u2013",c=(r,_)=>r.estimated&&r.estimated.includes(_)&&r[_]!==null&&r[_]!==void 0?m`<td class="estimated" data-estimated=${_} title=${t.estimated_tip}>≈ ${r[_]}</td>`:r.flagged&&r.flagged.includes(_)&&(r[_]===null||r[_]===void 0)?m`<td class="rejected" data-rejected=${_} title=${t.rejected_tip}>✕</td>`:m`<td>${d(r[_])}</td>`;return m`<div class="scroll-x"><table>
      <thead><tr>
        ${ae.map(([r,_])=>m`<th data-sort=${r} class=${r===i?n>0?"asc":"desc":""}
            @click=${()=>this._sort=[r,r===i?-n:1]}>${t[_]}</th>`)}
      </tr></thead>
      <tbody>
        ${u.map(r=>m`<tr data-row=${r.id}>
            <td><a href=${this._deviceUrl(r.id)} @click=${_=>this._open(r.id,_)}>${r.name}</a></td>
            <td><i class="dot" style="background:${T[r.state]}"></i>${t[r.state]}</td>
            ${c(r,"flow_dev")}
            ${c(r,"return_c")}
            ${c(r,"opening")}
            ${c(r,"dp_kpa")}
            <td>${r.alarms}</td>
            <td>${d(r.quality)}</td>
          </tr>`)}
      </tbody>
    </table></div>`}_deviceUrl(t){let e=this._view.devices[t];return e&&this._view.admin?`/config/devices/device/${e.device_id}`:"#"}_open(t,e){e&&e.preventDefault();let s=this._view.devices[t];s&&(this._view.admin?(history.pushState(null,"",`/config/devices/device/${s.device_id}`),this.dispatchEvent(new CustomEvent("location-changed",{bubbles:!0,composed:!0}))):s.entity_id&&this.dispatchEvent(new CustomEvent("hass-more-info",{bubbles:!0,composed:!0,detail:{entityId:s.entity_id}})))}_toggleMenu(){this.dispatchEvent(new CustomEvent("hass-toggle-menu",{bubbles:!0,composed:!0}))}};G(B,"properties",{hass:{attribute:!1},narrow:{type:Boolean},panel:{attribute:!1},_networks:{state:!0},_entry:{state:!0},_view:{state:!0},_expanded:{state:!0},_sort:{state:!0},_message:{state:!0},_archive:{state:!0}}),G(B,"styles",Y`
    :host {
      display: block;
      min-height: 100vh;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
      font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif);
    }
    .toolbar {
      display: flex;
      align-items: center;
      gap: 12px;
      height: var(--header-height, 56px);
      padding: 0 16px;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, var(--text-primary-color, #fff));
      position: sticky;
      top: 0;
      z-index: 2;
    }
    .title { font-size: 20px; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .menu { background: none; border: 0; padding: 8px; margin-left: -8px; color: inherit; cursor: pointer; }
    .menu svg { width: 24px; height: 24px; fill: currentColor; display: block; }
    .networks { font: inherit; padding: 4px; border-radius: 4px; max-width: 50vw; }
    .content { padding: 8px; display: flex; flex-direction: column; gap: 8px; }
    ha-card {
      display: block;
      background: var(--ha-card-background, var(--card-background-color, #fff));
      border-radius: var(--ha-card-border-radius, 12px);
      border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
      padding: 8px 12px;
      box-sizing: border-box;
      min-width: 0;
    }
    .pad { padding: 16px; }
    h2 { font-size: 16px; font-weight: 500; margin: 4px 0 8px; }
    h3 { font-size: 13px; font-weight: 400; margin: 8px 0 2px; color: var(--secondary-text-color); }
    .summary { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; }
    .tile { display: flex; flex-direction: column; }
    .tile span { font-size: 12px; color: var(--secondary-text-color); }
    .tile b { font-size: 18px; font-weight: 500; }
    .state-balanced b { color: var(--success-color, #43a047); }
    .state-not_balanced b, .state-disturbed b { color: var(--error-color, #db4437); }
    .actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
    .actions button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .actions button[disabled] { opacity: 0.4; cursor: default; }
    .message { font-size: 12px; color: var(--secondary-text-color); }
    .counts, .legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; }
    .counts i, .legend i, figcaption i, .dot {
      display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px;
    }
    .columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap: 8px; align-items: start; }
    :host([narrow]) .columns { grid-template-columns: minmax(0, 1fr); }
    @media (max-width: 900px) { .columns { grid-template-columns: minmax(0, 1fr); } }
    .side { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
    .scroll { overflow: auto; max-height: 70vh; }
    .scroll-x { overflow: auto; max-height: 60vh; }
    thead th { position: sticky; top: 0; background: var(--ha-card-background, var(--card-background-color, #fff)); }
    svg.graph { display: block; font-size: 11px; }
    .pipe { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.4; opacity: 0.7; }
    .loop { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.2; stroke-dasharray: 4 3; }
    .substation rect { fill: var(--primary-color); }
    .inlet { cursor: pointer; }
    .inlet text { fill: var(--primary-text-color); }
    .inlet .values { fill: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
    .inlet:hover circle { stroke: var(--primary-text-color); stroke-width: 2; }
    .toggle { cursor: pointer; }
    .toggle rect { fill: var(--secondary-background-color, #eee); stroke: var(--divider-color); }
    .toggle text { fill: var(--primary-text-color); font-size: 11px; }
    .chart { margin: 0; }
    .chart svg { width: 100%; height: 120px; display: block; }
    .chart .axis { stroke: var(--divider-color, #ccc); }
    .chart .tick { fill: var(--secondary-text-color); font-size: 9px; }
    figcaption { display: flex; gap: 12px; font-size: 12px; color: var(--secondary-text-color); }
    .chart-empty { font-size: 12px; color: var(--secondary-text-color); padding: 8px 0; }
    table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
    th, td { padding: 4px 8px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--divider-color, #e0e0e0); }
    th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
    th { cursor: pointer; user-select: none; font-weight: 500; color: var(--secondary-text-color); }
    th.asc::after { content: " ▲"; }
    th.desc::after { content: " ▼"; }
    a { color: var(--primary-color); text-decoration: none; }
    .estimated { font-style: italic; color: var(--secondary-text-color); }
    td.estimated, td.rejected, .legend .estimated { cursor: help; }
    td.rejected { color: var(--error-color, #db4437); }
    svg .estimated { font-style: italic; }
    .note { font-size: 12px; }
    .archive-form { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; margin-bottom: 8px; }
    .archive-form label { display: flex; flex-direction: column; font-size: 12px; color: var(--secondary-text-color); gap: 2px; }
    .archive-form select, .archive-form input { font: inherit; font-size: 13px; padding: 4px; border-radius: 4px; }
    .archive-form button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .archive .chart { max-width: 760px; }
    .archive .chart svg { height: 160px; }
    .archive-table { max-height: 40vh; }
    .archive-table th:nth-child(2), .archive-table td:nth-child(2) { text-align: right; }
  `);customElements.get("heatbalance-panel")||customElements.define("heatbalance-panel",B);
